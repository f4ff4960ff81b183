// Inpainting's baselines, which are also its sampler's start: the hole filled with the observed
// pixels' mean colour, or by diffusion (each hole pixel the mean of its neighbours, iterated to rest).
import type { Mask } from './mask.ts';

/** One image (HWC) with its hole set to the mean of the observed values, per channel. */
export function meanColourFill(x: ArrayLike<number>, mask: Mask, size: number, channels: number): Float64Array {
  const out = Float64Array.from(x);
  const sum = new Float64Array(channels);
  let count = 0;
  for (let p = 0; p < size * size; p++) {
    if (!mask[p]) continue;
    count++;
    for (let c = 0; c < channels; c++) sum[c] += x[p * channels + c];
  }
  for (let p = 0; p < size * size; p++) {
    if (mask[p]) continue;
    for (let c = 0; c < channels; c++) out[p * channels + c] = count > 0 ? sum[c] / count : 0;
  }
  return out;
}

/** Sweeps of the diffusion fill at most, and the change (in image units) under which it has come to rest. */
const MAX_SWEEPS = 5000;
const REST = 1e-6;

/**
 * The hole filled by diffusion: Gauss-Seidel sweeps setting each hole pixel to the mean of its
 * 4-neighbours inside the image, from the mean-colour fill, until no value moves by REST: the
 * harmonic interpolation of the hole's border (Laplace's equation), a smooth but blurry guess.
 */
export function diffusionFill(x: ArrayLike<number>, mask: Mask, size: number, channels: number): Float64Array {
  const out = meanColourFill(x, mask, size, channels);
  const hole: { p: number; neighbours: number[] }[] = [];
  for (let p = 0; p < size * size; p++) {
    if (mask[p]) continue;
    const row = Math.floor(p / size);
    const col = p % size;
    hole.push({ p, neighbours: [row > 0 ? p - size : -1, row < size - 1 ? p + size : -1, col > 0 ? p - 1 : -1, col < size - 1 ? p + 1 : -1].filter((q) => q >= 0) });
  }
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let moved = 0;
    for (const { p, neighbours } of hole) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (const q of neighbours) sum += out[q * channels + c];
        const value = sum / neighbours.length;
        moved = Math.max(moved, Math.abs(value - out[p * channels + c]));
        out[p * channels + c] = value;
      }
    }
    if (moved < REST) break;
  }
  return out;
}
