// PSNR, SSIM and diversity on cases with known answers: identical images, constant offsets, a
// reference SSIM computed independently (numpy and scipy's correlate2d, 'valid'), and pairwise distances.
import { describe, expect, it } from 'vitest';
import { diversity, psnr, ssim } from '../../main/engine/restore/metrics.ts';

function pattern(size: number, f: (i: number, j: number) => number): Float64Array {
  return Float64Array.from({ length: size * size }, (_, k) => f(Math.floor(k / size), k % size));
}

describe('PSNR', () => {
  it('is infinite for identical images and 10 log10(255² / d²) for a constant offset d', () => {
    const a = pattern(8, (i, j) => (i * 30 + j * 3) % 200);
    expect(psnr(a, a)).toBe(Infinity);
    for (const d of [1, 5, 40]) {
      const b = a.map((v) => v + d);
      expect(psnr(a, b)).toBeCloseTo(10 * Math.log10((255 * 255) / (d * d)), 10);
      expect(psnr(b, a)).toBeCloseTo(psnr(a, b), 12);
    }
  });

  it('refuses images of different sizes', () => {
    expect(() => psnr(new Float64Array(4), new Float64Array(5))).toThrow(/one size; got 4 and 5/);
  });
});

describe('SSIM', () => {
  it('is 1 for identical images, colour or grey', () => {
    const grey = pattern(16, (i, j) => (i * 16 + j * 7) % 256);
    expect(ssim(grey, grey, 16, 1)).toBeCloseTo(1, 12);
    const colour = Float64Array.from({ length: 16 * 16 * 3 }, (_, k) => (k * 37) % 251);
    expect(ssim(colour, colour, 16, 3)).toBeCloseTo(1, 12);
  });

  it('of two constant images is the luminance term alone: (2ab + C1) / (a² + b² + C1)', () => {
    const c1 = (0.01 * 255) ** 2;
    for (const [a, b] of [[100, 110], [10, 200], [0, 255]]) {
      const expected = (2 * a * b + c1) / (a * a + b * b + c1);
      expect(ssim(new Float64Array(256).fill(a), new Float64Array(256).fill(b), 16, 1)).toBeCloseTo(expected, 10);
    }
  });

  it('matches an independent computation (11x11 Gaussian window, sigma 1.5, valid positions)', () => {
    const a = pattern(16, (i, j) => (i * 16 + j * 7) % 256);
    const b = pattern(16, (i, j) => Math.min(255, Math.max(0, ((i * 16 + j * 7) % 256) + ((i * j) % 31) - 15)));
    expect(ssim(a, b, 16, 1)).toBeCloseTo(0.956052580285133, 9);
  });

  it('scores colour images per channel: a change in one channel costs a third of it in one', () => {
    const grey = pattern(16, (i, j) => (i * 16 + j * 7) % 256);
    const noisy = pattern(16, (i, j) => ((i * 16 + j * 7) % 256) * 0.5 + ((i * 5 + j * 11) % 17));
    const colour = (red: Float64Array) => Float64Array.from({ length: 16 * 16 * 3 }, (_, k) => (k % 3 === 0 ? red[Math.floor(k / 3)] : grey[Math.floor(k / 3)]));
    const one = ssim(grey, noisy, 16, 1);
    expect(one).toBeLessThan(0.9);
    expect(ssim(colour(grey), colour(noisy), 16, 3)).toBeCloseTo((one + 2) / 3, 10);
  });

  it('works on images smaller than the window, with a window of their size', () => {
    const a = pattern(8, (i, j) => i * 20 + j);
    expect(ssim(a, a, 8, 1)).toBeCloseTo(1, 12);
    expect(ssim(a, a.map((v) => 255 - v), 8, 1)).toBeLessThan(0);
  });
});

describe('diversity', () => {
  it('is the mean pairwise RMS distance, null for one candidate', () => {
    // Three 2-value candidates: (0,0), (3,4) and (6,8): RMS distances sqrt(12.5), sqrt(50), sqrt(12.5).
    const images = Float64Array.of(0, 0, 3, 4, 6, 8);
    expect(diversity(images, 3)).toBeCloseTo((2 * Math.sqrt(12.5) + Math.sqrt(50)) / 3, 12);
    expect(diversity(images.subarray(0, 2), 1)).toBeNull();
    expect(diversity(Float64Array.of(7, 7, 7, 7), 2)).toBe(0);
  });
});
