// Latent exploration: reconstructions are exact up to quantization, interpolation ends are the
// reconstructions (for Glow, TarFlow and flow matching), the four-image grid's corners are the four images,
// ranking puts planted odd images first, and export -> import keeps bits per dim while damaged
// files are refused.
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { initBackend } from '../../main/engine/backend.ts';
import { exportModel, importModel } from '../../main/engine/runs/model-export.ts';
import { loadModelFolder } from '../../main/engine/runs/model-folder.ts';
import { encodeAnimation, importAllImages } from '../../main/engine/data/index.ts';
import { applyDirection, attributeDirection, centred, interpolate, rankByBitsPerDim, reconstruct } from '../../main/engine/explore/explorer.ts';
import type { ModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { Rng } from '../../main/engine/random.ts';
import { runtimeFor } from '../../main/engine/runtime/runtime-for.ts';
import { defaultImageFolder } from '../../main/engine/resources.ts';
import { meanBitsPerDim } from '../../main/engine/train/evaluate.ts';
import { train } from '../../main/engine/train/trainer.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { perturb } from '../helpers/perturb.ts';

let root: string;
beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  root = await mkdtemp(join(tmpdir(), 'flowdesk-explore-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const GLOW: ModelConfig = { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 2, hidden: 8 };
/** Perturbed out of its identity start, so its patches really depend on the ones before. */
const TARFLOW: ModelConfig = { kind: 'tarflow', size: 8, channels: 1, patch: 2, depth: 2, hidden: 16, attnLayers: 1, headDim: 8 };

/** Through its ODE with the adaptive solver held tight, so encoding and decoding invert each other. */
const FLOW_MATCHING: ModelConfig = { kind: 'flow-matching', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8, solver: 'dopri5', tolerance: 1e-6 };

function tinyExplorer(config = GLOW) {
  const model = createModel(config, 0);
  const pixels = Uint8Array.from(new Rng(2).fillUniform(new Float32Array(4 * 64), 256), Math.floor);
  model.initialise(tf.tensor4d(Float32Array.from(pixels, (p) => p / 256 - 0.5), [4, 8, 8, 1]));
  perturb(model.params, 0.05);
  return { explorer: { model, nBits: 8 }, pixels };
}

describe('exploration', () => {
  for (const [name, config] of [['Glow', GLOW], ['TarFlow', TARFLOW], ['Flow matching', FLOW_MATCHING]] as const) {
    it(`${name}: reconstructs images exactly up to quantization, and to 1e-3 in model space`, async () => {
      const { explorer, pixels } = tinyExplorer(config);
      const r = await reconstruct(explorer, pixels);
      expect(r.maxError).toBeLessThanOrEqual(1);
      expect(r.meanError).toBeLessThan(0.01);
      const x = centred(pixels, 8);
      const zs = await runtimeFor(explorer.model).encode(x, 4);
      expectClose(await runtimeFor(explorer.model).decode(zs), x, 1e-3);
      tf.dispose(zs);
    });

    it(`${name}: starts and ends interpolations at the reconstructions, linear and spherical`, async () => {
      const { explorer, pixels } = tinyExplorer(config);
      const two = pixels.subarray(0, 128);
      const rec = (await reconstruct(explorer, two)).pixels;
      for (const spherical of [false, true]) {
        const strip = await interpolate(explorer, two, 2, { steps: 5, spherical });
        expect(strip.length).toBe(5 * 64);
        expect(Array.from(strip.subarray(0, 64))).toEqual(Array.from(rec.subarray(0, 64)));
        expect(Array.from(strip.subarray(4 * 64))).toEqual(Array.from(rec.subarray(64)));
        // The middle frame is something else than either end.
        expect(Array.from(strip.subarray(2 * 64, 3 * 64))).not.toEqual(Array.from(rec.subarray(0, 64)));
      }
    });
  }

  it('puts the four images at the corners of the grid formula', async () => {
    const { explorer, pixels } = tinyExplorer();
    const rec = (await reconstruct(explorer, pixels)).pixels;
    const n = 4;
    const grid = await interpolate(explorer, pixels, 4, { steps: n });
    const frame = (r: number, c: number) => Array.from(grid.subarray((r * n + c) * 64, (r * n + c + 1) * 64));
    const image = (i: number) => Array.from(rec.subarray(i * 64, (i + 1) * 64));
    // a = 0, b = 0 -> z1; a = 0, b = pi/2 -> z2; a = pi/2, b = 0 -> z3; a = pi/2, b = pi/2 -> z4.
    const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) <= 1);
    expect(close(frame(0, 0), image(0))).toBe(true);
    expect(close(frame(0, n - 1), image(1))).toBe(true);
    expect(close(frame(n - 1, 0), image(2))).toBe(true);
    expect(close(frame(n - 1, n - 1), image(3))).toBe(true);
  });

  it('applies an attribute direction: alpha 0 is the reconstruction', async () => {
    const { explorer, pixels } = tinyExplorer();
    const set = (p: Uint8Array) => ({ size: 8, channels: 1 as const, count: p.length / 64, pixels: p, paths: [], labels: null, classes: [] });
    const direction = await attributeDirection(explorer, set(pixels.subarray(0, 128)), set(pixels.subarray(128)));
    const out = await applyDirection(explorer, pixels.subarray(0, 64), direction, [-1, 0, 1]);
    expect(Array.from(out.subarray(64, 128))).toEqual(Array.from((await reconstruct(explorer, pixels.subarray(0, 64))).pixels));
    expect(Array.from(out.subarray(0, 64))).not.toEqual(Array.from(out.subarray(128)));
  });

  it('ranks planted non-digit images above digits', async () => {
    const digits = defaultImageFolder();
    const trainDir = join(root, 'train-digits');
    const rankDir = join(root, 'rank');
    await mkdir(trainDir, { recursive: true });
    await mkdir(rankDir, { recursive: true });
    for (const d of ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) {
      const files = (await readdir(join(digits, d))).sort();
      for (const f of files.slice(0, 30)) await copyFile(join(digits, d, f), join(trainDir, `${d}-${f}`));
      for (const f of files.slice(30, 33)) await copyFile(join(digits, d, f), join(rankDir, `${d}-${f}`));
    }
    const rng = new Rng(9);
    const planted = ['noise.png', 'checker.png', 'gray.png'];
    const noise = Uint8Array.from(rng.fillUniform(new Float32Array(28 * 28), 256), Math.floor);
    const checker = Uint8Array.from({ length: 28 * 28 }, (_, i) => ((i % 28 >> 2) + ((i / 28) >> 2)) % 2 ? 255 : 0);
    const gray = new Uint8Array(28 * 28).fill(128);
    for (const [name, px] of [[planted[0], noise], [planted[1], checker], [planted[2], gray]] as const) {
      await writeFile(join(rankDir, name), await sharp(px, { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer());
    }
    const run = await train({
      folder: trainDir,
      model: { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 2, hidden: 16 },
      train: { batch: 16, steps: 80, lr: 3e-3, warmup: 10, evalEvery: 80, checkpointEvery: 80 },
      runsDir: join(root, 'runs'),
      cacheDir: null,
    });
    const { model, json } = await loadModelFolder(run.runDir);
    const { set } = await importAllImages(rankDir, { size: 8, channels: 1, cacheDir: null });
    const ranked = await rankByBitsPerDim({ model, nBits: json.nBits }, set);
    expect(ranked).toHaveLength(33);
    expect(ranked.slice(0, 3).map((r) => r.path.split('/').pop()).sort()).toEqual([...planted].sort());
    for (let i = 1; i < ranked.length; i++) expect(ranked[i - 1].bpd).toBeGreaterThanOrEqual(ranked[i].bpd);

    // Export, import, and the same bits per dim; damaged copies are refused by name.
    const exported = join(root, 'exported');
    const runs = join(root, 'runs');
    await exportModel(run.runDir, exported, runs);
    const importedRun = await importModel(exported, runs);
    const back = await loadModelFolder(importedRun);
    const opts = { nBits: json.nBits, seed: 1 };
    expect(await meanBitsPerDim(back.model, set, opts)).toBe(await meanBitsPerDim(model, set, opts));
    await expect(exportModel(run.runDir, exported, runs)).rejects.toThrow(/is not empty/);
    // Never into a run or the runs folder, where a model would shadow or pose as a checkpoint.
    const runFiles = async () => (await readdir(run.runDir, { recursive: true })).sort();
    const before = await runFiles();
    for (const [target, why] of [
      [run.runDir, 'inside the runs folder'],
      [join(run.runDir, 'checkpoints', 'step-99999999'), 'inside the runs folder'],
      [join(runs, 'new-folder'), 'inside the runs folder'],
    ]) {
      await expect(exportModel(run.runDir, target, runs)).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining(why) });
    }
    // A run outside the runs folder (trained with --runs elsewhere) is refused as a run.
    await expect(exportModel(run.runDir, join(run.runDir, 'samples'), join(root, 'other-runs'))).rejects.toMatchObject({ message: expect.stringContaining(`inside the run ${run.runDir}`) });
    expect(await runFiles()).toEqual(before);
    expect(await readdir(runs)).not.toContain('new-folder');

    const damaged = join(root, 'damaged');
    await mkdir(damaged);
    await copyFile(join(exported, 'model.json'), join(damaged, 'model.json'));
    await copyFile(join(exported, 'weights.safetensors'), join(damaged, 'weights.safetensors'));
    await truncate(join(damaged, 'weights.safetensors'), 1000);
    await expect(importModel(damaged, join(root, 'runs'))).rejects.toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringContaining('weights.safetensors') });
    const bytes = await readFile(join(exported, 'weights.safetensors'));
    bytes[20] ^= 0x40;
    await writeFile(join(damaged, 'weights.safetensors'), bytes);
    await expect(importModel(damaged, join(root, 'runs'))).rejects.toMatchObject({ code: 'BAD_CHECKPOINT' });
    model.dispose();
    back.model.dispose();
  });

  it('writes interpolation strips as animations that play forward and back', async () => {
    const frames = new Uint8Array(4 * 8 * 8).map((_, i) => (i >> 6) * 60);
    for (const format of ['webp', 'gif'] as const) {
      const meta = await sharp(await encodeAnimation(frames, 4, 8, 1, format)).metadata();
      expect(meta.format).toBe(format);
      expect(meta.pages).toBe(6);
    }
  });
});
