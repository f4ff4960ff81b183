// The import report's pictures: a strip of the training images and one per class, each a seeded
// random sample (a folder's first files are often all one class), the same on every import.
import { encodeImageGrid, gatherBatch, type ImageSet } from '../engine/data/index.ts';
import { Rng } from '../engine/random.ts';

/** Images in the set's strip and in each class's, and the seed that picks them. */
const SET_STRIP = 16;
const CLASS_STRIP = 8;
const STRIP_SEED = 16;

/** One row of up to `n` images of `set`, picked by a seeded shuffle of `members` (indices into the set). */
function seededStrip(set: ImageSet, members: ArrayLike<number>, n: number): Promise<Buffer> {
  const count = Math.min(n, members.length);
  const order = new Rng(STRIP_SEED).permutation(members.length).subarray(0, count);
  return encodeImageGrid(gatherBatch(set, Array.from(order, (i) => members[i])), count, set.size, set.channels, Math.max(1, count));
}

/** PNG of up to 16 training images. */
export function setStrip(train: ImageSet): Promise<Buffer> {
  return seededStrip(train, Array.from({ length: train.count }, (_, i) => i), SET_STRIP);
}

/** Indices of the images of class `k` in `set`. */
function membersOf(set: ImageSet, k: number): number[] {
  const members: number[] = [];
  for (let i = 0; i < set.count; i++) if (set.labels?.[i] === k) members.push(i);
  return members;
}

/** PNG of up to 8 images per class, in class order, from the training images (the validation ones for a class with none there); [] when unlabelled. */
export function classStrips(train: ImageSet, val: ImageSet): Promise<Buffer[]> {
  return Promise.all(
    train.classes.map((_, k) => {
      const inTrain = membersOf(train, k);
      return inTrain.length > 0 ? seededStrip(train, inTrain, CLASS_STRIP) : seededStrip(val, membersOf(val, k), CLASS_STRIP);
    }),
  );
}
