// Copies chosen images of a set into one contiguous NHWC batch, picks a smaller set out of a
// set, and joins two sets into one; class labels stay aligned with the images.
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

/** The images at `indices` (in that order) as a set of their own, with their paths and labels. */
export function pickImages(set: ImageSet, indices: readonly number[]): ImageSet {
  return {
    size: set.size,
    channels: set.channels,
    count: indices.length,
    pixels: gatherBatch(set, indices),
    paths: indices.map((i) => set.paths[i]),
    labels: set.labels && Int32Array.from(indices, (i) => (set.labels as Int32Array)[i]),
    classes: set.classes,
  };
}

function sameClasses(a: ImageSet, b: ImageSet): boolean {
  return (a.labels === null) === (b.labels === null) && a.classes.length === b.classes.length && a.classes.every((name, i) => name === b.classes[i]);
}

/** One set holding the images of `a` then `b` (same size, channels and classes). */
export function concatSets(a: ImageSet, b: ImageSet): ImageSet {
  if (a.size !== b.size || a.channels !== b.channels) throw new RangeError(`concatSets: ${a.size}x${a.channels} and ${b.size}x${b.channels} images cannot be joined.`);
  if (!sameClasses(a, b)) throw new RangeError(`concatSets: sets with classes [${a.classes.join(', ')}] and [${b.classes.join(', ')}] cannot be joined.`);
  const pixels = new Uint8Array(a.pixels.length + b.pixels.length);
  pixels.set(a.pixels);
  pixels.set(b.pixels, a.pixels.length);
  let labels: Int32Array | null = null;
  if (a.labels && b.labels) {
    labels = new Int32Array(a.count + b.count);
    labels.set(a.labels);
    labels.set(b.labels, a.count);
  }
  return { size: a.size, channels: a.channels, count: a.count + b.count, pixels, paths: [...a.paths, ...b.paths], labels, classes: a.classes };
}
