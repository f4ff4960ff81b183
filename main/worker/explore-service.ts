// Latent exploration behind the app's Api, in the worker: reconstruction, interpolation,
// attribute directions (saved with the run), odd-one-out ranking, the latent projector, and
// model export/import.
// Images arrive as base64 file bytes and leave as PNG (or animated WebP) data URLs.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import * as tf from '../engine/tf.ts';
import { PROJECTOR_MAX_IMAGES, type AppEvent, type DirectionRequest, type DirectionStripRequest, type ImageSprite, type InterpolateRequest, type JobRequest, type Projection, type RankResult, type ReconstructResult } from '../../preload/api.ts';
import type { ExportFormat } from '../../common/export-formats.ts';
import { initBackend } from '../engine/backend.ts';
import { decodeSafetensors, encodeSafetensors } from '../engine/checkpoint/safetensors.ts';
import { encodeAnimation, encodeImageGrid, gatherBatch, importAllImages, importImageFolder, pickImages, type ImageSet } from '../engine/data/index.ts';
import { FlowDeskError } from '../engine/errors.ts';
import { applyDirection, attributeDirection, interpolate, rankByBitsPerDim, reconstruct, type Explorer } from '../engine/explore/explorer.ts';
import type { Latents } from '../engine/explore/latents.ts';
import { projectSet } from '../engine/explore/projection.ts';
import { writeFileAtomically } from '../engine/fs/atomic-write.ts';
import { isInsideRoots, realPathForCreate } from '../engine/fs/real-paths.ts';
import { importFolder } from '../engine/runs/import-folder.ts';
import { exportModel } from '../engine/runs/model-export.ts';
import { directionNameOf, directionPath, directionsDir } from '../engine/runs/run-layout.ts';
import { readRunJson } from '../engine/runs/run-json.ts';
import { runDirOf } from '../engine/runs/run-locate.ts';
import { dataUrl, decodePicked, pngOf, spriteOf } from './image-payloads.ts';
import { engineProgress, runJob } from './jobs.ts';
import type { ModelCache } from './model-cache.ts';
import type { ServiceSlice } from './routes.ts';

export class ExploreService implements ServiceSlice<'explore'> {
  constructor(
    readonly runsDir: string,
    private readonly models: ModelCache,
    /** Real paths of the allowed roots: every file read or written for the page lies inside them. */
    private readonly roots: readonly string[],
    /** Sends job progress to the page. */
    private readonly emit: (e: AppEvent) => void,
  ) {}

  async reconstruct(req: { runId: string; image: string }): Promise<ReconstructResult> {
    const e = await this.explorer(req.runId);
    const pixels = await this.pixels(e, req.image, 'the image');
    const r = await reconstruct(e, pixels);
    return { original: await this.png(e, pixels), reconstruction: await this.png(e, r.pixels), maxError: r.maxError, meanError: r.meanError };
  }

  async interpolate(req: InterpolateRequest): Promise<{ image: string; animation: string | null }> {
    const e = await this.explorer(req.runId);
    const { size, channels } = e.model.config;
    const per = size * size * channels;
    const all = new Uint8Array(req.images.length * per);
    for (let i = 0; i < req.images.length; i++) all.set(await this.pixels(e, req.images[i], `image ${i + 1}`), i * per);
    const frames = await interpolate(e, all, req.images.length as 2 | 4, { steps: req.steps, spherical: req.spherical, temperature: req.temperature });
    const count = req.images.length === 2 ? req.steps : req.steps * req.steps;
    const image = dataUrl(await encodeImageGrid(frames, count, size, channels, req.steps));
    const animation = req.images.length === 2 ? dataUrl(await encodeAnimation(frames, req.steps, size, channels, 'webp'), 'image/webp') : null;
    return { image, animation };
  }

  async computeDirection(req: DirectionRequest): Promise<{ name: string; withCount: number; withoutCount: number }> {
    const runDir = runDirOf(this.runsDir, req.runId);
    const e = await this.models.forRun(runDir);
    const { size, channels } = e.model.config;
    const job = { id: req.jobId, kind: 'direction' as const, label: `Computing the direction "${req.name}"`, total: null };
    const { direction, withCount, withoutCount } = await runJob(this.emit, job, async (progress, signal) => {
      // Reading the folders is counted in files, then encoding in images of both folders.
      const read = (folder: string) => importAllImages(folder, { size, channels, roots: this.roots, signal, onProgress: engineProgress(progress) });
      const withSet = (await read(req.withFolder)).set;
      const withoutSet = (await read(req.withoutFolder)).set;
      const direction = await attributeDirection(e, withSet, withoutSet, (done) => progress(done, withSet.count + withoutSet.count), signal);
      return { direction, withCount: withSet.count, withoutCount: withoutSet.count };
    });
    const tensors = Object.fromEntries(direction.map((z, i) => [`level.${i}`, { dtype: 'float32' as const, shape: [...z.shape], data: Float32Array.from(z.dataSync()) }]));
    tf.dispose(direction);
    await mkdir(directionsDir(runDir), { recursive: true });
    const meta = { with: req.withFolder, without: req.withoutFolder, withCount: String(withCount), withoutCount: String(withoutCount) };
    await writeFileAtomically(directionPath(runDir, req.name), encodeSafetensors(tensors, meta));
    return { name: req.name, withCount, withoutCount };
  }

  async listDirections(req: { runId: string }): Promise<string[]> {
    const names = await readdir(directionsDir(runDirOf(this.runsDir, req.runId))).catch(() => [] as string[]);
    return names.map(directionNameOf).filter((n) => n !== null).sort();
  }

  async applyDirection(req: { runId: string; image: string; direction: string; alpha: number }): Promise<string> {
    const { e, out } = await this.alongDirection(req.runId, req.image, req.direction, [req.alpha]);
    return this.png(e, out);
  }

  async directionStrip(req: DirectionStripRequest): Promise<ImageSprite> {
    const { e, out } = await this.alongDirection(req.runId, req.image, req.direction, req.alphas);
    const { size, channels } = e.model.config;
    return spriteOf(out, req.alphas.length, size, channels, req.alphas.length);
  }

  async rankFolder(req: { runId: string; folder: string } & JobRequest): Promise<RankResult> {
    const e = await this.explorer(req.runId);
    const { size, channels } = e.model.config;
    const job = { id: req.jobId, kind: 'rank' as const, label: `Ranking ${req.folder}`, total: null };
    const { set, report, ranked } = await runJob(this.emit, job, async (progress, signal) => {
      const { set, report } = await importAllImages(req.folder, { size, channels, roots: this.roots, signal, onProgress: engineProgress(progress) });
      return { set, report, ranked: await rankByBitsPerDim(e, set, progress, signal) };
    });
    const index = new Map(set.paths.map((p, i) => [p, i]));
    const strip = (paths: string[]) => spriteOf(gatherBatch(set, paths.map((p) => index.get(p)!)), paths.length, size, channels, paths.length);
    const values = ranked.map((r) => r.bpd);
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const bins = 24;
    const width = (hi - lo) / bins || 1;
    const counts = new Array(bins).fill(0);
    for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
    return {
      folder: req.folder,
      images: ranked,
      leastTypical: await strip(ranked.slice(0, Math.min(12, ranked.length)).map((r) => r.path)),
      mostTypical: await strip(ranked.slice(-Math.min(8, ranked.length)).reverse().map((r) => r.path)),
      histogram: { edges: Array.from({ length: bins + 1 }, (_, i) => lo + i * width), counts },
      skipped: report.skipped,
    };
  }

  async projectLatents(req: { runId: string; limit?: number } & JobRequest): Promise<Projection> {
    const runDir = runDirOf(this.runsDir, req.runId);
    const e = await this.models.forRun(runDir);
    const { size, channels } = e.model.config;
    const { folder } = (await readRunJson(runDir)).data;
    let split: { train: ImageSet; val: ImageSet };
    try {
      split = await importImageFolder(folder, { size, channels, roots: this.roots });
    } catch (err) {
      const code = err instanceof FlowDeskError ? err.code : 'IO_ERROR';
      throw new FlowDeskError(code, `The projector maps the validation images of ${folder}, where run ${req.runId} trained: ${(err as Error).message}`);
    }
    // A folder too small to hold validation images out still has a map: its training images.
    const source = split.val.count >= 2 ? split.val : split.train;
    const limit = req.limit ?? PROJECTOR_MAX_IMAGES;
    const count = Math.min(source.count, limit);
    const picked = Array.from({ length: count }, (_, i) => Math.floor((i * source.count) / count));
    const set = pickImages(source, picked);
    // Two units of work per image: encoding it, then scoring it.
    const job = { id: req.jobId, kind: 'project' as const, label: `Mapping ${count} validation images`, total: 2 * count };
    const p = await runJob(this.emit, job, (progress, signal) => projectSet(e, set, progress, signal));
    return {
      folder,
      available: source.count,
      points: set.paths.map((path, i) => ({ path, x: p.x[i], y: p.y[i], bpd: p.bpd[i] })),
      thumbnails: await spriteOf(set.pixels, count, size, channels, Math.ceil(Math.sqrt(count))),
      explained: p.explained,
    };
  }

  async exportModel(req: { runId: string; folder: string; format?: ExportFormat }): Promise<string[]> {
    // Checked again here (a link may have changed since the host's check) and written through
    // the real path, so no link on the way is followed. A folder swapped for a link in the
    // instant between this check and the write is the one window left: Node has no openat.
    const target = realPathForCreate(req.folder);
    if (!isInsideRoots(target, this.roots)) throw new FlowDeskError('BAD_ARGUMENT', `${req.folder} leads outside the folders FlowDesk may write; export into a folder inside them.`);
    // ONNX graphs are traced on the wasm backend: the worker's own choice (onnx or wasm) where nothing faster loads.
    if (req.format === 'onnx') await initBackend();
    return (await exportModel(runDirOf(this.runsDir, req.runId), target, this.runsDir, undefined, { format: req.format })).files;
  }

  /** A model export or a PyTorch package, told apart as `flowdesk import` tells them (import-folder.ts), every file read checked against the roots. */
  async importModel(req: { folder: string }): Promise<{ runId: string; continuedFrom?: { run: string; step: number } }> {
    const { runDir, continuedFrom } = await importFolder(req.folder, this.runsDir, undefined, this.roots);
    return { runId: basename(runDir), ...(continuedFrom ? { continuedFrom } : {}) };
  }

  /** decode(z(image) + alpha * direction) for each alpha, with the run's saved direction. */
  private async alongDirection(runId: string, image: string, name: string, alphas: number[]): Promise<{ e: Explorer; out: Uint8Array }> {
    const runDir = runDirOf(this.runsDir, runId);
    const e = await this.models.forRun(runDir);
    const direction = await this.direction(runDir, runId, name);
    try {
      return { e, out: await applyDirection(e, await this.pixels(e, image, 'the image'), direction, alphas) };
    } finally {
      tf.dispose(direction);
    }
  }

  private async direction(runDir: string, runId: string, name: string): Promise<Latents> {
    const path = directionPath(runDir, name);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch {
      throw new FlowDeskError('BAD_ARGUMENT', `Run ${runId} has no saved direction "${name}"; compute it first.`);
    }
    const { tensors } = decodeSafetensors(new Uint8Array(bytes), path);
    const levels = Object.keys(tensors).length;
    return Array.from({ length: levels }, (_, i) => {
      const t = tensors[`level.${i}`];
      if (!t || t.shape.length !== 4) throw new FlowDeskError('BAD_CHECKPOINT', `${path} is not a direction saved by FlowDesk.`);
      return tf.tensor4d(t.data as Float32Array, t.shape as [number, number, number, number]);
    });
  }

  private explorer(runId: string): Promise<Explorer> {
    return this.models.forRun(runDirOf(this.runsDir, runId));
  }

  private pixels(e: Explorer, base64: string, what: string): Promise<Uint8Array> {
    return decodePicked(base64, e.model.config.size, e.model.config.channels, what);
  }

  private png(e: Explorer, pixels: Uint8Array): Promise<string> {
    return pngOf(pixels, e.model.config.size, e.model.config.channels);
  }
}
