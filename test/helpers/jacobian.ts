// Brute-force Jacobians, one backward pass per output, with determinants taken in float64: the
// reference that every layer's log-determinant is checked against (images and Lab rows alike).
import * as tf from '../../main/engine/tf.ts';
import { logAbsDeterminant, type Matrix } from '../../main/engine/flows/linalg.ts';

export function bruteForceLogDet(fn: (x: tf.Tensor4D) => tf.Tensor, x: tf.Tensor4D): number {
  return logAbsDeterminant(bruteForceJacobian(fn, x));
}

/**
 * The Jacobian of `fn` at `x` in float64, entry (i, j) = ∂out_i/∂in_j over the flattened tensors:
 * any shape, e.g. one row [1, D] of a Lab layer.
 */
export function bruteForceJacobian<T extends tf.Tensor>(fn: (x: T) => tf.Tensor, x: T): Matrix {
  const d = x.size;
  if (d > 64) throw new Error(`brute-force Jacobian is for small inputs; got ${d} dimensions`);
  const data = new Float64Array(d * d);
  for (let row = 0; row < d; row++) {
    const grad = tf.tidy(() => {
      const onehot = tf.reshape(tf.oneHot(tf.tensor1d([row], 'int32'), d), [d]);
      const g = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.reshape(fn(input as T), [d]), onehot)));
      return g(x).dataSync();
    });
    for (let col = 0; col < d; col++) data[row * d + col] = grad[col];
  }
  return { n: d, data };
}

/** log|det J| at each row of `x` [n, D] for a map on rows, each row pushed alone (rows may interact, e.g. through an adaptive solver's step). */
export function bruteForceRowLogDets(fn: (row: tf.Tensor2D) => tf.Tensor, x: tf.Tensor2D): number[] {
  const rows = tf.split(x, x.shape[0]) as tf.Tensor2D[];
  const out = rows.map((row) => logAbsDeterminant(bruteForceJacobian(fn, row)));
  tf.dispose(rows);
  return out;
}

/**
 * The same, for a map whose rows do not interact but whose closure holds per-row data (a
 * transform's parameters for the whole batch): the batch is pushed at once, one backward pass
 * per output coordinate giving that row of every row's Jacobian.
 */
export function bruteForceBatchRowLogDets(fn: (x: tf.Tensor2D) => tf.Tensor2D, x: tf.Tensor2D): number[] {
  const d = x.shape[1];
  if (d > 64) throw new Error(`brute-force Jacobian is for small inputs; got ${d} dimensions`);
  return rowJacobians(fn, x).map((data) => logAbsDeterminant({ n: d, data }));
}

/**
 * Each row's D x D Jacobian (row-major, float64) of a map acting on the rows of [n, D]
 * independently, by one backward pass per output coordinate.
 */
export function rowJacobians(fn: (x: tf.Tensor2D) => tf.Tensor2D, x: tf.Tensor2D): Float64Array[] {
  const [n, d] = x.shape;
  const jacobians = Array.from({ length: n }, () => new Float64Array(d * d));
  for (let out = 0; out < d; out++) {
    const grad = tf.tidy(() => tf.grad((input: tf.Tensor) => tf.sum(tf.slice(fn(input as tf.Tensor2D), [0, out], [n, 1])))(x).dataSync());
    for (let r = 0; r < n; r++) for (let col = 0; col < d; col++) jacobians[r][out * d + col] = grad[r * d + col];
  }
  return jacobians;
}
