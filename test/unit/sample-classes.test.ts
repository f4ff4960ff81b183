// The app's `sample` call on a class-conditional run (issue 17): every class by default or 'all'
// (one labelled row per class), one class by name (the class reaches the model, the same images
// as the CLI's --class), an unknown name refused with the classes listed, and guidance passed
// through to the model; the run's classes and class figures as getRun gives them; and the Api's
// checks of className and guidance.
import { realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { validateRequest } from '../../main/api-validation.ts';
import { GRID_GUTTER, encodeImageGrid, toPixels } from '../../main/engine/data/index.ts';
import { classChoice } from '../../main/engine/explore/class-choice.ts';
import { Rng } from '../../main/engine/random.ts';
import { runtimeFor } from '../../main/engine/runtime/runtime-for.ts';
import { train } from '../../main/engine/train/trainer.ts';
import { ModelCache } from '../../main/worker/model-cache.ts';
import { RunsService } from '../../main/worker/runs-service.ts';
import { EngineService } from '../../main/worker/service.ts';
import { makeClassFolder, type ClassFolder } from '../helpers/class-folder.ts';

const SIZE = 8;
const model = { kind: 'glow', size: SIZE, channels: 1, levels: 2, depth: 1, hidden: 8 } as const;
const settings = { batch: 6, lr: 1e-2, warmup: 2, steps: 20, evalEvery: 20, checkpointEvery: 20, seed: 1, sampleCount: 6, valImages: 6 };

let folder: ClassFolder;
let runsDir: string;
let cache: ModelCache;
let service: EngineService;

beforeAll(async () => {
  folder = await makeClassFolder({ dark: 40, mid: 128, light: 215 }, 10, SIZE);
  runsDir = await mkdtemp(join(tmpdir(), 'flowdesk-sample-classes-'));
  const common = { folder: folder.dir, model, runsDir, cacheDir: null };
  await train({ ...common, name: 'conditional', train: { ...settings, classes: 'folders' } });
  await train({ ...common, name: 'plain', train: { ...settings, steps: 5, evalEvery: 5, checkpointEvery: 5 } });
  cache = new ModelCache();
  service = new EngineService(runsDir, () => undefined, cache, [realpathSync(tmpdir())]);
});

afterAll(async () => {
  await folder?.cleanup();
  await rm(runsDir, { recursive: true, force: true });
});

/** A grid PNG's rows and columns of images. */
async function gridShape(dataUrl: string): Promise<{ rows: number; cols: number }> {
  const { width, height } = await sharp(Buffer.from(dataUrl.split(',')[1], 'base64')).metadata();
  return { rows: (height! - GRID_GUTTER) / (SIZE + GRID_GUTTER), cols: (width! - GRID_GUTTER) / (SIZE + GRID_GUTTER) };
}

describe('sampling a class-conditional run', () => {
  it('draws one labelled row of n per class by default and for all', async () => {
    const request = { runId: 'conditional', n: 4, temperature: 0.7, seed: 2 };
    const grid = await service.sample(request);
    expect(grid.n).toBe(12);
    expect(grid.rowLabels).toEqual(['dark', 'light', 'mid']);
    expect(await gridShape(grid.image)).toEqual({ rows: 3, cols: 4 });
    expect(await service.sample({ ...request, className: 'all' })).toEqual(grid);
  });

  it('draws one class by name, as the model samples under that class', async () => {
    const grid = await service.sample({ runId: 'conditional', n: 4, temperature: 0.7, seed: 2, className: 'light' });
    expect(grid.n).toBe(4);
    expect(grid.rowLabels).toBeUndefined();
    expect(await gridShape(grid.image)).toEqual({ rows: 2, cols: 2 });
    // The same images the model draws given the class "light" (index 1 in code-unit order).
    const { model: loaded, nBits } = await cache.forRun(join(runsDir, 'conditional'));
    const { rows } = classChoice(loaded, 'light', 4);
    expect(Array.from(rows!.subarray(0, 3))).toEqual([0, 1, 0]);
    const images = await runtimeFor(loaded).sample(4, 0.7, new Rng(2), rows);
    const expected = `data:image/png;base64,${(await encodeImageGrid(toPixels(images, nBits), 4, SIZE, 1)).toString('base64')}`;
    expect(grid.image).toBe(expected);
    // Another class, the same noise: other images.
    expect((await service.sample({ runId: 'conditional', n: 4, temperature: 0.7, seed: 2, className: 'dark' })).image).not.toBe(grid.image);
  });

  it('refuses an unknown class with the classes listed, and a class for a model without any', async () => {
    await expect(service.sample({ runId: 'conditional', n: 4, temperature: 0.7, seed: 0, className: 'purple' })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: 'request.className: No class "purple" in this model; its classes are dark, light, mid.',
    });
    await expect(service.sample({ runId: 'plain', n: 4, temperature: 0.7, seed: 0, className: 'dark' })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringMatching(/^request\.className: This glow model has no classes/),
    });
    await expect(service.sample({ runId: 'conditional', n: 400, temperature: 0.7, seed: 0 })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringMatching(/^request\.n: 400 images for each of 3 classes is 1200, over 1024/),
    });
  });

  it('keeps an unconditional run as before: a square grid, no row labels', async () => {
    const grid = await service.sample({ runId: 'plain', n: 9, temperature: 0.7, seed: 0 });
    expect(grid.n).toBe(9);
    expect(grid.rowLabels).toBeUndefined();
    expect(await gridShape(grid.image)).toEqual({ rows: 3, cols: 3 });
  });

  it('passes the guidance weight to the model', async () => {
    const { model: loaded } = await cache.forRun(join(runsDir, 'conditional'));
    const sample = vi.spyOn(loaded, 'sample');
    const fromNoise = vi.spyOn(loaded, 'sampleFromNoise');
    try {
      await service.sample({ runId: 'conditional', n: 2, temperature: 0.7, seed: 0, className: 'mid', guidance: 2.5 });
      // The runtime draws on this thread (sample) or splits the noise (sampleFromNoise): either way, with the weight.
      const weights = [...sample.mock.calls.map((c) => c[4]), ...fromNoise.mock.calls.map((c) => c[3])];
      expect(weights).toContain(2.5);
    } finally {
      sample.mockRestore();
      fromNoise.mockRestore();
    }
  });
});

describe('what the runs service tells the app of a conditional run', () => {
  it('names its classes and gives its last unconditional bits/dim and accuracy; none for an unconditional run', async () => {
    const runs = new RunsService(runsDir);
    const conditional = await runs.getRun({ runId: 'conditional' });
    expect(conditional.classes).toEqual(['dark', 'light', 'mid']);
    expect(conditional.summary.lastValBpdUnconditional).toEqual(expect.any(Number));
    expect(conditional.summary.lastValAccuracy).toBeGreaterThanOrEqual(0);
    const evals = conditional.metrics.filter((m) => m.type === 'eval');
    expect(evals.at(-1)).toMatchObject({ valBpdUnconditional: conditional.summary.lastValBpdUnconditional, valAccuracy: conditional.summary.lastValAccuracy });
    const plain = await runs.getRun({ runId: 'plain' });
    expect(plain.classes).toEqual([]);
    expect(plain.summary).toMatchObject({ lastValBpdUnconditional: null, lastValAccuracy: null });
    expect(plain.metrics.some((m) => 'valBpdUnconditional' in m || 'valAccuracy' in m)).toBe(false);
  });
});

describe("the sample call's checks", () => {
  const base = { runId: 'run-1', n: 4, temperature: 0.7, seed: 0 };
  it('passes a class name and a guidance weight, and refuses bad ones naming the field', () => {
    expect(validateRequest('sample', { ...base, className: 'cat', guidance: 2 })).toEqual({ ...base, className: 'cat', guidance: 2 });
    expect(validateRequest('sample', { ...base, className: 'all' })).toEqual({ ...base, className: 'all' });
    expect(() => validateRequest('sample', { ...base, className: '' })).toThrow(/request.className must be a class name/);
    expect(() => validateRequest('sample', { ...base, className: 7 })).toThrow(/request.className must be a class name/);
    expect(() => validateRequest('sample', { ...base, guidance: 5 })).toThrow(/request.guidance must be a number from 0 to 4/);
    expect(() => validateRequest('sample', { ...base, guidance: 'strong' })).toThrow(/request.guidance must be a number/);
  });
});
