// Inpainting masks: one value per pixel (all channels alike), 1 where the pixel is observed and
// 0 in the hole. From a mask image white marks the hole, as OpenCV's inpaint and most inpainting tools read masks.
import type { Rng } from '../random.ts';
import { DataError } from '../errors.ts';

/** size x size values, 1 = observed (kept), 0 = hole (sampled). */
export type Mask = Uint8Array;

/** Grey levels from this up are the hole: white (and light grey) marks what to fill. */
export const HOLE_FROM_GREY = 128;

/** A mask from a grey image's pixels (one value a pixel): white is the hole. */
export function maskFromGrey(grey: Uint8Array): Mask {
  return Uint8Array.from(grey, (v) => (v >= HOLE_FROM_GREY ? 0 : 1));
}

/** Refuses a mask with no hole or no observed pixel, naming `source` (the file) and what to do. */
export function checkMask(mask: Mask, source: string): void {
  let hole = 0;
  for (const m of mask) hole += 1 - m;
  if (hole === 0) throw new DataError('BAD_IMAGE', `${source} marks no pixel to fill: paint the hole white (white = fill, black = keep).`);
  if (hole === mask.length) throw new DataError('BAD_IMAGE', `${source} is white everywhere, so no pixel is kept: paint the pixels to keep black (white = fill, black = keep), or draw samples with flowdesk sample.`);
}

/** A seeded hole: a square of half the side at a random place (the bench's masks). */
export function randomSquareMask(size: number, rng: Rng): Mask {
  const side = Math.max(1, Math.floor(size / 2));
  const top = rng.int(size - side + 1);
  const left = rng.int(size - side + 1);
  const mask = new Uint8Array(size * size).fill(1);
  for (let y = top; y < top + side; y++) mask.fill(0, y * size + left, y * size + left + side);
  return mask;
}

/**
 * A seeded hole of the one family restoration trains and is benched on: a rectangle whose sides
 * are each from a quarter to three quarters of the image's side, at a random place. The bench's
 * half-side squares (randomSquareMask) are members of it.
 */
export function randomRectangleMask(size: number, rng: Rng): Mask {
  const low = Math.max(1, Math.floor(size / 4));
  const high = Math.max(low, Math.floor((3 * size) / 4));
  const height = low + rng.int(high - low + 1);
  const width = low + rng.int(high - low + 1);
  const top = rng.int(size - height + 1);
  const left = rng.int(size - width + 1);
  const mask = new Uint8Array(size * size).fill(1);
  for (let y = top; y < top + height; y++) mask.fill(0, y * size + left, y * size + left + width);
  return mask;
}

/** The mask repeated over each pixel's channels: 1 where a value is observed. */
export function valueMask(mask: Mask, channels: number): Uint8Array {
  const out = new Uint8Array(mask.length * channels);
  for (let p = 0; p < mask.length; p++) out.fill(mask[p], p * channels, (p + 1) * channels);
  return out;
}
