// Horizontal flip: which images a step mirrors is a pure function of (seed, step), 'auto' flips
// colour images only, and a run trained with flip on resumes exactly where it stopped.
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flipsImages } from '../../common/settings/train-fields.ts';
import { batchIndices, flippedImages, mirrorImages, trainingBatch } from '../../main/engine/train/batches.ts';
import { resume, train } from '../../main/engine/train/trainer.ts';
import type { ImageSet } from '../../main/engine/data/index.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

/** Four 3x3 colour images whose every byte differs, so a mirror always shows. */
function set(): ImageSet {
  const count = 4, size = 3, channels = 3;
  const pixels = Uint8Array.from({ length: count * size * size * channels }, (_, i) => i);
  return { count, size, channels, pixels, paths: ['a', 'b', 'c', 'd'] };
}

describe('flip in a batch', () => {
  it('auto flips colour images and leaves grayscale ones', () => {
    expect(flipsImages('auto', 3)).toBe(true);
    expect(flipsImages('auto', 1)).toBe(false);
    expect(flipsImages('on', 1)).toBe(true);
    expect(flipsImages('off', 3)).toBe(false);
  });

  it('mirrors each row of the chosen images and nothing else', () => {
    // Two 2x2 grayscale images (rows [1 2] [3 4] and [5 6] [7 8]) with the second mirrored.
    const two = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    mirrorImages(two, 2, 1, [false, true]);
    expect([...two]).toEqual([1, 2, 3, 4, 6, 5, 8, 7]);
    // RGB pixels move whole: channels keep their order (one 2x2 image, its two rows swapped pixel-wise).
    const rgb = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    mirrorImages(rgb, 2, 3, [true]);
    expect([...rgb]).toEqual([4, 5, 6, 1, 2, 3, 10, 11, 12, 7, 8, 9]);
  });

  it('is the same for the same (seed, step) and mirrors about half the images', () => {
    expect(flippedImages(64, 5, 9)).toEqual(flippedImages(64, 5, 9));
    expect(flippedImages(64, 5, 9)).not.toEqual(flippedImages(64, 5, 10));
    const share = flippedImages(4000, 1, 0).filter(Boolean).length / 4000;
    expect(share).toBeGreaterThan(0.45);
    expect(share).toBeLessThan(0.55);
  });

  it('changes exactly the flipped images of a training batch, with the same noise', () => {
    const images = set();
    const plain = trainingBatch(images, 4, 8, 2, 3);
    const flipped = trainingBatch(images, 4, 8, 2, 3, true);
    const chosen = flippedImages(4, 2, 3);
    expect(chosen.some(Boolean)).toBe(true);
    const per = 3 * 3 * 3;
    chosen.forEach((flip, i) => {
      const a = plain.subarray(i * per, (i + 1) * per);
      const b = flipped.subarray(i * per, (i + 1) * per);
      if (flip) expect([...b]).not.toEqual([...a]);
      else expect([...b]).toEqual([...a]);
    });
    expect(batchIndices(4, 4, 2, 3)).toEqual(batchIndices(4, 4, 2, 3));
  });
});

describe('flip and resume', () => {
  let folder: Awaited<ReturnType<typeof makeImageFolder>>;
  const runsDir = join(tmpdir(), `flowdesk-flip-${process.pid}`);
  beforeAll(async () => {
    folder = await makeImageFolder({ count: 40, size: 8, channels: 3, pattern: 'blobs' });
  });
  afterAll(async () => {
    await folder.cleanup();
    await rm(runsDir, { recursive: true, force: true });
  });

  async function losses(runDir: string): Promise<Map<number, number>> {
    const rows = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    return new Map(rows.filter((r) => r.type === 'train').map((r) => [r.step, r.loss]));
  }

  it('resumes exactly with flip on, and flipping changes the losses', async () => {
    const model = { kind: 'glow', size: 8, channels: 3, levels: 2, depth: 2, hidden: 16 } as const;
    const common = { folder: folder.dir, model, runsDir, cacheDir: null } as const;
    const settings = { batch: 8, lr: 2e-3, warmup: 5, evalEvery: 100, checkpointEvery: 5, seed: 3 };
    const straight = await train({ ...common, name: 'flip-straight', train: { ...settings, flip: 'on', steps: 10 } });
    const unflipped = await train({ ...common, name: 'no-flip', train: { ...settings, flip: 'off', steps: 10 } });
    const first = await train({ ...common, name: 'flip-interrupted', train: { ...settings, flip: 'on', steps: 5 } });
    await resume(first.runDir, { steps: 10, cacheDir: null });
    const a = await losses(straight.runDir);
    const b = await losses(first.runDir);
    for (const step of [6, 7, 10]) expect(b.get(step)).toBe(a.get(step));
    const c = await losses(unflipped.runDir);
    expect([6, 7, 10].some((step) => c.get(step) !== a.get(step))).toBe(true);
  });
});
