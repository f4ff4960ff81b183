// Which images and which dequantization noise a step uses, as a pure function of (seed, step):
// a resumed run therefore draws exactly what an uninterrupted one would, with no saved state.
import { dequantize, gatherBatch, type ImageSet } from '../data/index.ts';
import { Rng } from '../random.ts';

/** A 32-bit mix of several integers, to seed independent streams. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return h;
}

const STREAM_ORDER = 1;
const STREAM_NOISE = 2;

/** Image indices of `step` (0-based): epochs are seeded permutations of the training set. */
export function batchIndices(count: number, batch: number, seed: number, step: number): Int32Array {
  const out = new Int32Array(batch);
  let cached: { epoch: number; perm: Int32Array } | null = null;
  for (let i = 0; i < batch; i++) {
    const position = step * batch + i;
    const epoch = Math.floor(position / count);
    if (!cached || cached.epoch !== epoch) cached = { epoch, perm: new Rng(mixSeed(seed, STREAM_ORDER, epoch)).permutation(count) };
    out[i] = cached.perm[position % count];
  }
  return out;
}

/** The dequantized float batch (NHWC) for `step`, images picked by batchIndices. */
export function trainingBatch(set: ImageSet, batch: number, nBits: number, seed: number, step: number): Float32Array {
  const pixels = gatherBatch(set, batchIndices(set.count, batch, seed, step));
  return dequantize(pixels, nBits, new Rng(mixSeed(seed, STREAM_NOISE, step)));
}
