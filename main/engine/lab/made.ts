// MADE (Germain et al. 2015): degrees for inputs, hidden units and outputs, and the 0/1 masks
// (Mlp's `masks`) that let each output see only inputs earlier in the order: an autoregressive network.
import * as tf from '../tf.ts';

/** Input degrees 1..D: coordinate i is the degrees[i]-th in the order, natural or reversed. */
export function orderDegrees(dim: number, reversed: boolean): Int32Array {
  const degrees = new Int32Array(dim);
  for (let i = 0; i < dim; i++) degrees[i] = reversed ? dim - i : i + 1;
  return degrees;
}

/**
 * One [in, out] mask per layer of an Mlp sized [D, ...hidden, D * paramsPerDim]. Output column
 * i * paramsPerDim + p is coordinate i's parameter p (a reshape to [n, D, paramsPerDim] lines
 * them up) and sees only inputs of lower degree than degrees[i]. Hidden units cycle through the
 * degrees 1..D-1, as in MADE's deterministic assignment, so every allowed path exists once the
 * layers are at least D-1 wide.
 */
export function madeMasks(degrees: ArrayLike<number>, hidden: readonly number[], paramsPerDim: number): tf.Tensor2D[] {
  const dim = degrees.length;
  const hiddenDegrees = hidden.map((width) => Array.from({ length: width }, (_, u) => (u % Math.max(1, dim - 1)) + Math.min(1, dim - 1)));
  const outputDegrees = Array.from({ length: dim * paramsPerDim }, (_, o) => degrees[Math.floor(o / paramsPerDim)]);
  const layers = [Array.from(degrees), ...hiddenDegrees, outputDegrees];
  return layers.slice(1).map((to, l) => {
    const from = layers[l];
    // A hidden unit may see its own degree; an output only strictly lower ones.
    const last = l + 2 === layers.length;
    const mask = new Float32Array(from.length * to.length);
    from.forEach((df, i) => to.forEach((dt, j) => { mask[i * to.length + j] = (last ? dt > df : dt >= df) ? 1 : 0; }));
    return tf.tensor2d(mask, [from.length, to.length]);
  });
}
