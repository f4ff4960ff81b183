// Pixels to model space and back (DESIGN.md): x = floor(p / 2^(8-n)) / 2^n - 1/2 + U(0, 1/2^n),
// and for display the centre of each n-bit bin, clamped to 0..255.
import type { Rng } from '../random.ts';

function checkBits(nBits: number): void {
  if (!Number.isInteger(nBits) || nBits < 1 || nBits > 8) throw new RangeError(`nBits must be a whole number from 1 to 8; got ${nBits}.`);
}

/** The largest float32 below `x` (x itself a float32). */
function float32Below(x: number): number {
  const f = new Float32Array([x]);
  const bits = new Int32Array(f.buffer);
  if (x === 0) return -1.401298464324817e-45;
  bits[0] += x > 0 ? -1 : 1;
  return f[0];
}

export function dequantize(pixels: Uint8Array, nBits: number, rng: Rng, out = new Float32Array(pixels.length)): Float32Array {
  checkBits(nBits);
  if (out.length < pixels.length) throw new RangeError(`dequantize: out holds ${out.length} values, ${pixels.length} needed.`);
  const bins = 2 ** nBits;
  // Rounding to float32 can carry a value just under a bin's top onto the top itself, which is
  // the next bin; each bin's largest float32 below its top keeps the noise inside [0, 1/2^n).
  const tops = Float32Array.from({ length: bins }, (_, b) => float32Below((b + 1) / bins - 0.5));
  const shift = 8 - nBits;
  for (let i = 0; i < pixels.length; i++) {
    const bin = pixels[i] >> shift;
    out[i] = (bin + rng.next()) / bins - 0.5;
    if (out[i] > tops[bin]) out[i] = tops[bin];
  }
  return out;
}

/**
 * Adds N(0, sigma^2) to every value of dequantized images, in place: TarFlow's noise
 * augmentation (Zhai et al. 2024), whose bits per dim are then of the noised data.
 */
export function addGaussianNoise(x: Float32Array, sigma: number, rng: Rng): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] += sigma * rng.normal();
  return x;
}

/**
 * How many of the `n` images in `x` have a value outside the data range [-0.5, 0.5] of model
 * space (or not a number): toPixels clips them for display, and whoever shows them says how many.
 */
export function imagesOutOfRange(x: ArrayLike<number>, n: number): number {
  const per = x.length / n;
  let count = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i * per; j < (i + 1) * per; j++) {
      if (!(x[j] >= -0.5 && x[j] <= 0.5)) {
        count++;
        break;
      }
    }
  }
  return count;
}

export function toPixels(x: Float32Array | ArrayLike<number>, nBits: number): Uint8Array {
  checkBits(nBits);
  const bins = 2 ** nBits;
  const drop = 2 ** (8 - nBits);
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = (x[i] + 0.5) * bins;
    // NaN lands in bin 0 (v >= 0 is false), infinities clamp like any out-of-range value.
    const bin = v >= 0 ? Math.min(bins - 1, Math.floor(v)) : 0;
    // The bin's middle 8-bit value; with 8 bits each bin is one value and maps to itself.
    out[i] = bin * drop + (drop >> 1);
  }
  return out;
}
