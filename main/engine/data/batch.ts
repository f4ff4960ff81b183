// Copies chosen images of a set into one contiguous NHWC batch, and joins two sets into one.
import type { ImageSet } from './import-types.ts';

/** The images at `indices` (in that order) as one NHWC uint8 buffer, written into `out` if given. */
export function gatherBatch(set: ImageSet, indices: ArrayLike<number>, out?: Uint8Array): Uint8Array {
  const per = set.size * set.size * set.channels;
  const batch = out ?? new Uint8Array(indices.length * per);
  if (batch.length < indices.length * per) throw new RangeError(`gatherBatch: out holds ${batch.length} bytes, ${indices.length * per} needed.`);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!(Number.isInteger(index) && index >= 0 && index < set.count)) throw new RangeError(`gatherBatch: index ${index} is outside a set of ${set.count} images.`);
    batch.set(set.pixels.subarray(index * per, (index + 1) * per), i * per);
  }
  return batch;
}

/** One set holding the images of `a` then `b` (same size and channels). */
export function concatSets(a: ImageSet, b: ImageSet): ImageSet {
  if (a.size !== b.size || a.channels !== b.channels) throw new RangeError(`concatSets: ${a.size}x${a.channels} and ${b.size}x${b.channels} images cannot be joined.`);
  const pixels = new Uint8Array(a.pixels.length + b.pixels.length);
  pixels.set(a.pixels);
  pixels.set(b.pixels, a.pixels.length);
  // Labels stay only where both sets have them over the same classes.
  const labelled = a.labels && b.labels && a.classes.join('\n') === b.classes.join('\n');
  const labels = labelled ? Int32Array.from([...a.labels!, ...b.labels!]) : null;
  return { size: a.size, channels: a.channels, count: a.count + b.count, pixels, paths: [...a.paths, ...b.paths], labels, classes: labelled ? a.classes : [] };
}
