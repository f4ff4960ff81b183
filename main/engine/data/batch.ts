// Copies chosen images of a set into one contiguous NHWC batch.
import type { ImageSet } from './import-types.ts';

export function gatherBatch(set: ImageSet, indices: ArrayLike<number>, out?: Uint8Array): Uint8Array {
  const per = set.size * set.size * set.channels;
  const batch = out ?? new Uint8Array(indices.length * per);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i] * per;
    batch.set(set.pixels.subarray(src, src + per), i * per);
  }
  return batch;
}

/** One set holding the images of `a` then `b` (same size and channels). */
export function concatSets(a: ImageSet, b: ImageSet): ImageSet {
  const pixels = new Uint8Array(a.pixels.length + b.pixels.length);
  pixels.set(a.pixels);
  pixels.set(b.pixels, a.pixels.length);
  return { size: a.size, channels: a.channels, count: a.count + b.count, pixels, paths: [...a.paths, ...b.paths] };
}
