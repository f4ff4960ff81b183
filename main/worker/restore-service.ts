// Restoration and class changes behind the app's Api, in the worker: upscale or inpaint a picked
// image as a job through the engine's restore.ts (scored when the original is known), and "change the class".
import sharp from 'sharp';
import type { AppEvent, ChangeClassRequest, ChangeClassResult, RestoreQuality, RestoreRequest, RestoreResult } from '../../preload/api.ts';
import { unpackMask } from '../../common/mask-bits.ts';
import { restoreDefaults, type RestoreSettings } from '../../common/restore-fields.ts';
import { initBackend } from '../engine/backend.ts';
import { FlowDeskError } from '../engine/errors.ts';
import { changeClass, classIndex, classNamesOf } from '../engine/explore/change-class.ts';
import { checkFactor, downsampleBox } from '../engine/restore/box-average.ts';
import { diversity } from '../engine/restore/metrics.ts';
import { inpaint, upscale, type Restoration, type Restorer } from '../engine/restore/restore.ts';
import { scoreRestoration, type Quality } from '../engine/restore/scores.ts';
import { loadModelFolder } from '../engine/runs/model-folder.ts';
import { runDirOf } from '../engine/runs/run-locate.ts';
import { decodePicked, spriteOf } from './image-payloads.ts';
import { engineProgress, runJob, type JobProgressFn } from './jobs.ts';
import type { ModelCache } from './model-cache.ts';
import type { ServiceSlice } from './routes.ts';

/** Grey level the hole is shown in, in the image an inpainting starts from. */
const HOLE_GREY = 128;

/** The width and height a picked image's header gives, or null when it does not parse (decoding then says why). */
async function pickedShape(base64: string): Promise<{ width: number; height: number } | null> {
  const meta = await sharp(Buffer.from(base64, 'base64')).metadata().catch(() => null);
  return meta?.width !== undefined && meta.height !== undefined ? { width: meta.width, height: meta.height } : null;
}

/** Images back to back, as sprites take them. */
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** PSNR's infinity (an exact copy) would not survive JSON: null says it. */
function quality(q: Quality): RestoreQuality {
  return { psnr: Number.isFinite(q.psnr) ? q.psnr : null, ssim: q.ssim };
}

/** What the model is asked to restore: the observation, what it came from and how it is shown. */
interface Observed {
  input: RestoreResult['input'];
  original: Uint8Array | null;
  degraded: { pixels: Uint8Array; side: number };
  restore(r: Restorer, settings: RestoreSettings, progress: JobProgressFn, signal: AbortSignal): Promise<Restoration>;
  label: string;
}

export class RestoreService implements ServiceSlice<'restore'> {
  constructor(
    readonly runsDir: string,
    private readonly models: ModelCache,
    /** Sends job progress to the page. */
    private readonly emit: (e: AppEvent) => void,
  ) {}

  async restore(req: RestoreRequest): Promise<RestoreResult> {
    const settings = { ...restoreDefaults(), ...req.settings };
    await initBackend();
    // Its own model, not the cache's: a restoration takes minutes, and a grid of another run
    // asked for meanwhile replaces (and frees) the cached model.
    const { model, json } = await loadModelFolder(runDirOf(this.runsDir, req.runId));
    try {
      const restorer = { model, nBits: json.nBits };
      const { size, channels } = model.config;
      const observed = req.mode === 'upscale' ? await this.toUpscale(req.image, req.factor, size, channels) : await this.toInpaint(req, size, channels);
      const job = { id: req.jobId, kind: 'restore' as const, label: observed.label, total: settings.steps };
      const r = await runJob(this.emit, job, (progress, signal) => observed.restore(restorer, settings, progress, signal));
      const scores = observed.original ? scoreRestoration(r, observed.original, size, channels) : null;
      const one = (pixels: Uint8Array, side = size) => spriteOf(pixels, 1, side, channels, 1);
      const names = Object.keys(r.baselines);
      return {
        mode: req.mode,
        input: observed.input,
        original: observed.original && (await one(observed.original)),
        degraded: await one(observed.degraded.pixels, observed.degraded.side),
        images: await spriteOf(concat([r.candidates, r.mean]), r.count + 1, size, channels, r.count + 1),
        baselines: { names, images: await spriteOf(concat(names.map((n) => r.baselines[n])), names.length, size, channels, names.length) },
        scores: scores && {
          candidates: scores.candidates.map(quality),
          mean: quality(scores.mean),
          best: quality(scores.best),
          baselines: Object.fromEntries(Object.entries(scores.baselines).map(([name, q]) => [name, quality(q)])),
        },
        diversity: diversity(r.candidates, r.count),
        outOfRange: r.outOfRange,
        settings,
      };
    } finally {
      model.dispose();
    }
  }

  async listClasses(req: { runId: string }): Promise<string[]> {
    const { model } = await this.models.forRun(runDirOf(this.runsDir, req.runId));
    return [...(model.classLabels?.names ?? [])];
  }

  async changeClass(req: ChangeClassRequest): Promise<ChangeClassResult> {
    const e = await this.models.forRun(runDirOf(this.runsDir, req.runId));
    const { size, channels } = e.model.config;
    let names: readonly string[];
    let from: number;
    let to: number[];
    try {
      names = classNamesOf(e.model);
      from = classIndex(e.model, req.from);
      to = req.to === 'all' ? names.map((_, i) => i) : req.to.map((name) => classIndex(e.model, name));
    } catch (err) {
      throw new FlowDeskError((err as FlowDeskError).code ?? 'BAD_CONFIG', `Run ${req.runId} cannot change an image's class: ${(err as Error).message}`);
    }
    const pixels = await decodePicked(req.image, size, channels, 'the image');
    const out = changeClass(e, pixels, from, to, req.temperature ?? 1);
    return { strip: await spriteOf(out, to.length, size, channels, to.length), classes: to.map((i) => names[i]) };
  }

  /** A full-size image is box-averaged here (its original known); one of the model's size / factor is the observation itself. */
  private async toUpscale(image: string, factor: number, size: number, channels: 1 | 3): Promise<Observed> {
    checkFactor(size, factor);
    const side = size / factor;
    const shape = await pickedShape(image);
    const small = shape?.width === side && shape.height === side;
    const original = small ? null : await decodePicked(image, size, channels, 'request.image');
    const observed = original ? Uint8Array.from(downsampleBox(original, { n: 1, size, channels, factor }), Math.round) : await decodePicked(image, side, channels, 'request.image');
    return {
      input: small ? 'small' : 'full-size',
      original,
      degraded: { pixels: observed, side },
      label: `Upscaling ${side} x ${side} to ${size} x ${size}`,
      restore: (r, settings, progress, signal) => upscale(r, observed, factor, settings, { onProgress: engineProgress(progress), signal }),
    };
  }

  private async toInpaint(req: RestoreRequest & { mode: 'inpaint' }, size: number, channels: 1 | 3): Promise<Observed> {
    if (req.mask.side !== size) {
      throw new FlowDeskError('BAD_ARGUMENT', `request.mask is ${req.mask.side} x ${req.mask.side} pixels but run ${req.runId}'s model sees ${size} x ${size} images: draw the mask at the model's size.`);
    }
    const hole = unpackMask(req.mask)!;
    // The engine's masks are 1 where a pixel is kept.
    const mask = Uint8Array.from(hole, (h) => 1 - h);
    const original = await decodePicked(req.image, size, channels, 'request.image');
    const shown = Uint8Array.from(original, (v, i) => (hole[Math.floor(i / channels)] ? HOLE_GREY : v));
    return {
      input: 'full-size',
      original,
      degraded: { pixels: shown, side: size },
      label: `Inpainting ${hole.reduce((s, h) => s + h, 0)} pixels`,
      restore: (r, settings, progress, signal) => inpaint(r, original, mask, settings, { onProgress: engineProgress(progress), signal }),
    };
  }
}
