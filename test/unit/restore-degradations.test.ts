// Super-resolution's box average and its projections, bicubic upscaling, the inpainting fills
// and masks: exact identities on images the tests build.
import { describe, expect, it } from 'vitest';
import { expectClose } from '../helpers/expect-close.ts';
import { Rng } from '../../main/engine/random.ts';
import { upscaleBicubic } from '../../main/engine/restore/bicubic.ts';
import { checkFactor, downsampleBox, projectOntoBoxAverage, upsampleNearest, type BoxLayout } from '../../main/engine/restore/box-average.ts';
import { diffusionFill, meanColourFill } from '../../main/engine/restore/fill.ts';
import { checkMask, maskFromGrey, randomSquareMask, valueMask } from '../../main/engine/restore/mask.ts';

function random(length: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length }, () => rng.normal());
}

describe('box average', () => {
  const layout: BoxLayout = { n: 2, size: 8, channels: 3, factor: 4 };

  it('averages each block per channel, and the nearest lift averages back to the observation', () => {
    // One 4x4 image, one channel, factor 2: block (0, 0) holds 0, 1, 4, 5.
    const x = Float64Array.from({ length: 16 }, (_, k) => k);
    expectClose(downsampleBox(x, { n: 1, size: 4, channels: 1, factor: 2 }), [2.5, 4.5, 10.5, 12.5], 1e-12);
    const y = random(2 * 2 * 2 * 3, 1);
    expectClose(downsampleBox(upsampleNearest(y, layout), layout), y, 1e-12);
  });

  it('projects onto the observation: within range it shifts each block by its error (idempotent)', () => {
    const y = random(2 * 2 * 3, 3).map((v) => 0.1 * v);
    const x = random(2 * 8 * 8 * 3, 4).map((v) => 0.05 * v);
    const before = Float64Array.from(x);
    projectOntoBoxAverage(x, y, layout, -10, 10);
    expectClose(downsampleBox(x, layout), [...y, ...y], 1e-12);
    const shift = upsampleNearest(downsampleBox(Float64Array.from(x, (v, i) => v - before[i]), layout), layout);
    expectClose(Float64Array.from(x, (v, i) => v - before[i]), shift, 1e-12);
    const again = Float64Array.from(x);
    projectOntoBoxAverage(again, y, layout, -10, 10);
    expectClose(again, x, 1e-12);
  });

  it('keeps values in range where clipping bites, still averaging to the observation', () => {
    // One 2x2 block observed at 0.4 with values near the top: the nearest in-range values are clip(v + τ).
    const one = { n: 1, size: 2, channels: 1, factor: 2 };
    const x = Float64Array.of(0.45, 0.1, 0.3, 0.6);
    projectOntoBoxAverage(x, [0.4], one, -0.5, 0.5);
    expect(Math.max(...x)).toBeLessThanOrEqual(0.5);
    expect(downsampleBox(x, one)[0]).toBeCloseTo(0.4, 12);
    // Two values clip at 0.5, so 0.1 + τ and 0.3 + τ make up the rest of 4 x 0.4: τ = 0.1.
    expectClose(x, [0.5, 0.2, 0.4, 0.5], 1e-12);
  });

  it('refuses a factor that does not divide the model size, saying which would', () => {
    expect(() => checkFactor(6, 4)).toThrow(/factor 4 does not divide the model's image size 6 x 6: use 2/);
    expect(() => checkFactor(9, 2)).toThrow(/no factor of 2 or 4 divides it/);
    expect(() => checkFactor(16, 4)).not.toThrow();
  });
});

describe('bicubic upscaling', () => {
  it('keeps constants and reproduces a linear ramp away from the edges', () => {
    expectClose(upscaleBicubic(new Float64Array(16).fill(0.3), 1, 4, 1, 2), new Float64Array(64).fill(0.3), 1e-12);
    // 8 x 8 small image, value = column index; output column o sits at source coordinate (o + 0.5) / 2 - 0.5.
    const small = Float64Array.from({ length: 64 }, (_, k) => k % 8);
    const big = upscaleBicubic(small, 1, 8, 1, 2);
    for (let row = 0; row < 16; row++) {
      for (let col = 3; col < 13; col++) expect(big[row * 16 + col]).toBeCloseTo((col + 0.5) / 2 - 0.5, 10);
    }
  });

  it('upscales each image and channel on its own', () => {
    const two = Float64Array.from({ length: 2 * 4 * 4 * 3 }, (_, k) => (k < 48 ? (k % 3) : 5));
    const big = upscaleBicubic(two, 2, 4, 3, 4);
    for (let p = 0; p < 256; p++) expectClose(big.subarray(p * 3, p * 3 + 3), [0, 1, 2], 1e-12);
    expectClose(big.subarray(768), new Float64Array(768).fill(5), 1e-12);
  });
});

describe('fills', () => {
  const size = 8;
  // Hole: the 3x3 square at rows 2-4, columns 3-5.
  const mask = Uint8Array.from({ length: size * size }, (_, p) => (Math.floor(p / size) >= 2 && Math.floor(p / size) <= 4 && p % size >= 3 && p % size <= 5 ? 0 : 1));

  it('mean colour: the hole gets each channel\'s mean over the observed pixels, the rest is kept', () => {
    const x = Float64Array.from({ length: size * size * 2 }, (_, k) => (k % 2 === 0 ? 1 : Math.floor(k / 2) % size));
    const filled = meanColourFill(x, mask, size, 2);
    let sum = 0;
    let count = 0;
    for (let p = 0; p < size * size; p++) {
      if (!mask[p]) continue;
      sum += p % size;
      count++;
    }
    for (let p = 0; p < size * size; p++) {
      expect(filled[2 * p]).toBe(1);
      expect(filled[2 * p + 1]).toBeCloseTo(mask[p] ? x[2 * p + 1] : sum / count, 12);
    }
  });

  it('diffusion fills a linear ramp exactly (it is harmonic) and never touches observed pixels', () => {
    const ramp = Float64Array.from({ length: size * size }, (_, p) => 0.1 * Math.floor(p / size) - 0.05 * (p % size));
    const holed = ramp.map((v, p) => (mask[p] ? v : 9));
    const filled = diffusionFill(holed, mask, size, 1);
    expectClose(filled, ramp, 1e-4);
    for (let p = 0; p < size * size; p++) if (mask[p]) expect(filled[p]).toBe(holed[p]);
  });
});

describe('masks', () => {
  it('reads white (grey 128 and up) as the hole and repeats a pixel over its channels', () => {
    expect([...maskFromGrey(Uint8Array.of(0, 127, 128, 255))]).toEqual([1, 1, 0, 0]);
    expect([...valueMask(Uint8Array.of(1, 0), 3)]).toEqual([1, 1, 1, 0, 0, 0]);
  });

  it('refuses a mask without a hole or without an observed pixel, naming the file', () => {
    expect(() => checkMask(new Uint8Array(16).fill(1), 'm.png')).toThrow(/m\.png marks no pixel to fill: paint the hole white/);
    expect(() => checkMask(new Uint8Array(16), 'm.png')).toThrow(/m\.png is white everywhere, so no pixel is kept/);
    expect(() => checkMask(Uint8Array.of(1, 0, 1, 1), 'm.png')).not.toThrow();
  });

  it('draws the bench\'s square holes from a seed', () => {
    const a = randomSquareMask(16, new Rng(7));
    expect(a.reduce((s, m) => s + (1 - m), 0)).toBe(64);
    expect([...randomSquareMask(16, new Rng(7))]).toEqual([...a]);
  });
});
