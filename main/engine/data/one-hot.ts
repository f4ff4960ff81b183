// Classes as the models take them (seam 2 of issue 17): one float32 one-hot row per image, an
// all-zero row for an image without a class.

/** Rows [n, K] for the class indices `labels` (a negative index: no class, an all-zero row). */
export function oneHotRows(labels: ArrayLike<number>, classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0) out[i * classes + labels[i]] = 1;
  return out;
}

/** `n` rows all of class `label`. */
export function repeatedClass(label: number, n: number, classes: number): Float32Array {
  return oneHotRows(new Int32Array(n).fill(label), classes);
}

/** `perClass` rows of class 0, then of class 1, ...: a grid with one row per class. */
export function classRows(classes: number, perClass: number): Float32Array {
  return oneHotRows(Int32Array.from({ length: classes * perClass }, (_, i) => Math.floor(i / perClass)), classes);
}
