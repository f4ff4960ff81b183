// Brute-force log|det J| of a map on a small input, one backward pass per output, with the
// determinant taken in float64: the reference that every layer's log-determinant is checked against.
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
