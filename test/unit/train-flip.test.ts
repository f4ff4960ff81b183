// Horizontal flip: which images a step mirrors is a pure function of (seed, step), and 'auto'
// flips colour images only. (Resume with flip on: train.test.ts.)
import { describe, expect, it } from 'vitest';
import { flipsImages } from '../../common/settings/train-fields.ts';
import { batchIndices, flippedImages, mirrorImages, trainingBatch } from '../../main/engine/train/batches.ts';
import type { ImageSet } from '../../main/engine/data/index.ts';

/** Four 3x3 colour images whose every byte differs, so a mirror always shows. */
function set(): ImageSet {
  const count = 4, size = 3, channels = 3;
  const pixels = Uint8Array.from({ length: count * size * size * channels }, (_, i) => i);
  return { count, size, channels, pixels, paths: ['a', 'b', 'c', 'd'], labels: null, classes: [] };
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
