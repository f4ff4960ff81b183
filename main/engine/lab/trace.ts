// Traces of a Jacobian from Jacobian-vector products, shared by residual flows (power series)
// and continuous flows (divergence): exact with D products, or Hutchinson's unbiased estimate
// E[εᵀJε] = tr J with one Rademacher probe per row.
import * as tf from '../tf.ts';
import type { Rng } from '../random.ts';

/** Maps a batch of tangents v (one per row) to J·v, J being each row's Jacobian. */
export type JacobianVectorProduct = (v: tf.Tensor2D) => tf.Tensor2D;

/** Rows of independent ±1 entries (Rademacher), seeded. */
export function rademacher(n: number, dim: number, rng: Rng): tf.Tensor2D {
  const values = new Float32Array(n * dim);
  for (let i = 0; i < values.length; i++) values[i] = rng.next() < 0.5 ? -1 : 1;
  return tf.tensor2d(values, [n, dim]);
}

/** tr J for each row, from D products with the unit vectors. */
export function exactTrace(jvp: JacobianVectorProduct, n: number, dim: number): tf.Tensor1D {
  return tf.tidy(() => {
    let trace = tf.zeros([n]) as tf.Tensor1D;
    for (let k = 0; k < dim; k++) {
      trace = tf.add(trace, tf.squeeze(tf.slice(jvp(unitRows(n, dim, k)), [0, k], [n, 1]), [1]));
    }
    return trace;
  });
}

/** Each row's whole Jacobian, [n, D, D] with entry [r, i, k] = ∂out_i/∂in_k, from D products. */
export function jacobian(jvp: JacobianVectorProduct, n: number, dim: number): tf.Tensor3D {
  return tf.tidy(() => tf.stack(Array.from({ length: dim }, (_, k) => jvp(unitRows(n, dim, k))), 2) as tf.Tensor3D);
}

/** `n` copies of the k-th unit vector of R^dim: the tangent whose product is the Jacobian's column k. */
function unitRows(n: number, dim: number, k: number): tf.Tensor2D {
  return tf.tile(tf.oneHot(tf.tensor1d([k], 'int32'), dim), [n, 1]) as tf.Tensor2D;
}

/** εᵀ J ε for each row with the probe ε given (so a caller can reuse it, e.g. across ODE stages). */
export function probedTrace(jvp: JacobianVectorProduct, probe: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.mul(probe, jvp(probe)), 1) as tf.Tensor1D);
}
