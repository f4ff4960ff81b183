// Pixels to model space and back (DESIGN.md): x = floor(p / 2^(8-n)) / 2^n - 1/2 + U(0, 1/2^n),
// and for display the centre of each n-bit bin, clamped to 0..255.
import type { Rng } from '../random.ts';

export function dequantize(pixels: Uint8Array, nBits: number, rng: Rng, out = new Float32Array(pixels.length)): Float32Array {
  const bins = 2 ** nBits;
  const drop = 2 ** (8 - nBits);
  for (let i = 0; i < pixels.length; i++) {
    out[i] = (Math.floor(pixels[i] / drop) + rng.next()) / bins - 0.5;
  }
  return out;
}

export function toPixels(x: ArrayLike<number>, nBits: number): Uint8Array {
  const bins = 2 ** nBits;
  const drop = 2 ** (8 - nBits);
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const bin = Math.min(bins - 1, Math.max(0, Math.floor((x[i] + 0.5) * bins)));
    // The bin's middle 8-bit value: bins of 8 bits map to themselves.
    out[i] = Math.min(255, bin * drop + Math.floor(drop / 2));
  }
  return out;
}
