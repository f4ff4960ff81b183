// A restoration measured against the original it came from: PSNR and SSIM of every candidate,
// of their mean, of the best candidate and of each baseline, and the candidates' diversity.
import { diversity, psnr, ssim } from './metrics.ts';
import type { Restoration } from './restore.ts';

export interface Quality {
  /** dB on 8-bit pixels; Infinity for an exact copy. */
  psnr: number;
  ssim: number;
}

export interface RestorationScores {
  candidates: Quality[];
  mean: Quality;
  /** The candidate of highest PSNR (an oracle's pick: the original chooses it). */
  best: Quality;
  baselines: Record<string, Quality>;
  /** Mean pairwise RMS distance between candidates in grey levels; null for one candidate. */
  diversity: number | null;
}

export function scoreRestoration(r: Restoration, original: Uint8Array, size: number, channels: number): RestorationScores {
  const quality = (pixels: Uint8Array): Quality => ({ psnr: psnr(pixels, original), ssim: ssim(pixels, original, size, channels) });
  const per = original.length;
  const candidates = Array.from({ length: r.count }, (_, i) => quality(r.candidates.subarray(i * per, (i + 1) * per)));
  const best = candidates.reduce((a, b) => (b.psnr > a.psnr ? b : a));
  const baselines = Object.fromEntries(Object.entries(r.baselines).map(([name, pixels]) => [name, quality(pixels)]));
  return { candidates, mean: quality(r.mean), best, baselines, diversity: diversity(r.candidates, r.count) };
}
