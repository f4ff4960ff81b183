// Brute-force log|det J| of a map on a small input, one backward pass per output, with the
// determinant taken in float64: the reference that every layer's log-determinant is checked against.
import * as tf from '../../main/engine/tf.ts';
import { logAbsDeterminant } from '../../main/engine/flows/linalg.ts';

export function bruteForceLogDet(fn: (x: tf.Tensor4D) => tf.Tensor, x: tf.Tensor4D): number {
  const d = x.size;
  if (d > 64) throw new Error(`brute-force Jacobian is for small inputs; got ${d} dimensions`);
  const data = new Float64Array(d * d);
  for (let row = 0; row < d; row++) {
    const grad = tf.tidy(() => {
      const onehot = tf.reshape(tf.oneHot(tf.tensor1d([row], 'int32'), d), [d]);
      const g = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.reshape(fn(input as tf.Tensor4D), [d]), onehot)));
      return g(x).dataSync();
    });
    for (let col = 0; col < d; col++) data[row * d + col] = grad[col];
  }
  return logAbsDeterminant({ n: d, data });
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

/** Brute-force log|det J| of each row of a row-wise map on [n, D], determinants in float64. */
export function bruteForceRowLogDets(fn: (x: tf.Tensor2D) => tf.Tensor2D, x: tf.Tensor2D): number[] {
  const d = x.shape[1];
  return rowJacobians(fn, x).map((data) => logAbsDeterminant({ n: d, data }));
}
