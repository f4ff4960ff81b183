// Brute-force log|det J| of a map on a small input, one backward pass per output, with the
// determinant taken in float64: the reference that every layer's log-determinant is checked against.
import * as tf from '../../main/engine/tf.ts';
import { logAbsDeterminant } from '../../main/engine/flows/linalg.ts';

export function bruteForceLogDet(fn: (x: tf.Tensor4D) => tf.Tensor, x: tf.Tensor4D): number {
  return jacobianLogDet(fn as (x: tf.Tensor) => tf.Tensor, x);
}

/** The same for a map on rows of points ([1, D] to [1, D]): log|det J| at each row of `x` [n, D], each row pushed alone. */
export function bruteForceRowLogDets(fn: (row: tf.Tensor2D) => tf.Tensor, x: tf.Tensor2D): number[] {
  const rows = tf.split(x, x.shape[0]) as tf.Tensor2D[];
  const out = rows.map((row) => jacobianLogDet(fn as (x: tf.Tensor) => tf.Tensor, row));
  tf.dispose(rows);
  return out;
}

function jacobianLogDet(fn: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor): number {
  const d = x.size;
  if (d > 64) throw new Error(`brute-force Jacobian is for small inputs; got ${d} dimensions`);
  const data = new Float64Array(d * d);
  for (let row = 0; row < d; row++) {
    const grad = tf.tidy(() => {
      const onehot = tf.reshape(tf.oneHot(tf.tensor1d([row], 'int32'), d), [d]);
      const g = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.reshape(fn(input), [d]), onehot)));
      return g(x).dataSync();
    });
    for (let col = 0; col < d; col++) data[row * d + col] = grad[col];
  }
  return logAbsDeterminant({ n: d, data });
}

/**
 * The same, for a map whose rows do not interact but whose closure holds per-row data (a
 * transform's parameters for the whole batch): the batch is pushed at once, one backward pass
 * per output coordinate giving that row of every row's Jacobian.
 */
export function bruteForceBatchRowLogDets(fn: (x: tf.Tensor2D) => tf.Tensor2D, x: tf.Tensor2D): number[] {
  const [n, d] = x.shape;
  if (d > 64) throw new Error(`brute-force Jacobian is for small inputs; got ${d} dimensions`);
  const rows: Float32Array[] = [];
  for (let k = 0; k < d; k++) {
    rows.push(tf.tidy(() => tf.grad((input: tf.Tensor) => tf.sum(tf.slice(fn(input as tf.Tensor2D), [0, k], [n, 1])))(x).dataSync() as Float32Array));
  }
  return Array.from({ length: n }, (_, i) => {
    const data = new Float64Array(d * d);
    for (let k = 0; k < d; k++) for (let col = 0; col < d; col++) data[k * d + col] = rows[k][i * d + col];
    return logAbsDeterminant({ n: d, data });
  });
}
