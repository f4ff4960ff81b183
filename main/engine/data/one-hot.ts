// Classes as the models take them (issue 17's seam): a float32 one-hot matrix [n, K], row-major,
// where an all-zero row means "no class" (the unconditional branch of label dropout and guidance).
import type { ImageSet } from './import-types.ts';

/** Class id of a row with no class: its row is all zeros. */
export const NO_CLASS = -1;

/** One row of `k` values per id, 1 in the id's column (NO_CLASS: all zeros), written into `out` if given. */
export function oneHot(classIds: ArrayLike<number>, k: number, out?: Float32Array): Float32Array {
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`oneHot: k must be a whole number of classes of at least 1, got ${k}.`);
  const rows = out ?? new Float32Array(classIds.length * k);
  if (rows.length < classIds.length * k) throw new RangeError(`oneHot: out holds ${rows.length} values, ${classIds.length * k} needed.`);
  rows.fill(0, 0, classIds.length * k);
  for (let i = 0; i < classIds.length; i++) {
    const id = classIds[i];
    if (id === NO_CLASS) continue;
    if (!(Number.isInteger(id) && id >= 0 && id < k)) throw new RangeError(`oneHot: class ${id} is outside ${k} classes.`);
    rows[i * k + id] = 1;
  }
  return rows;
}

/**
 * The classes of the images at `indices` of a labelled set, one-hot [indices.length, K] with
 * K = set.classes.length, in the order gatherBatch puts their pixels.
 */
export function gatherOneHot(set: ImageSet, indices: ArrayLike<number>, out?: Float32Array): Float32Array {
  const labels = set.labels;
  if (labels === null) throw new RangeError('gatherOneHot: the set is unlabelled (imported with classes none); import it with classes from sub-folders.');
  const ids = Int32Array.from({ length: indices.length }, (_, i) => {
    const index = indices[i];
    if (!(Number.isInteger(index) && index >= 0 && index < set.count)) throw new RangeError(`gatherOneHot: index ${index} is outside a set of ${set.count} images.`);
    return labels[index];
  });
  return oneHot(ids, set.classes.length, out);
}

/** `n` rows all of class `label`. */
export function repeatedClass(label: number, n: number, classes: number): Float32Array {
  return oneHot(new Int32Array(n).fill(label), classes);
}

/** `perClass` rows of class 0, then of class 1, ...: a grid with one row per class. */
export function classRows(classes: number, perClass: number): Float32Array {
  return oneHot(Int32Array.from({ length: classes * perClass }, (_, i) => Math.floor(i / perClass)), classes);
}
