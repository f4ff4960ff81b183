// Multi-head causal self-attention of a TarFlow layer: q, k, v from one projection, position i
// attending to positions j <= i. `step` runs one new position against cached keys and values, so
// decoding computes each position once.
import * as tf from '../../tf.ts';
import type { Rng } from '../../random.ts';
import type { ParamScope } from '../params.ts';
import { Dense } from './dense.ts';

/** What a masked score becomes before the softmax: exp(-1e9 - max) is 0 in float32. */
const MASKED = -1e9;

/** The keys and values of the positions already run, per head: [N * heads, positions, headDim]. */
// A type alias, not an interface, so tf.tidy accepts it as a tensor container.
export type KeyValueCache = {
  keys: tf.Tensor3D;
  values: tf.Tensor3D;
};

/** [T, T] additive mask: 0 where j <= i, MASKED above the diagonal. */
function causalMask(t: number): tf.Tensor2D {
  const mask = new Float32Array(t * t);
  for (let i = 0; i < t; i++) mask.fill(MASKED, i * t + i + 1, (i + 1) * t);
  return tf.tensor2d(mask, [t, t]);
}

export class CausalAttention {
  private readonly qkv: Dense;
  private readonly proj: Dense;
  private readonly heads: number;

  constructor(scope: ParamScope, private readonly width: number, private readonly headDim: number, rng: Rng) {
    this.qkv = new Dense(scope.child('qkv'), width, 3 * width, rng);
    this.proj = new Dense(scope.child('proj'), width, width, rng);
    this.heads = width / headDim;
  }

  /** Every position of `a` [N, T, w] attending to itself and the positions before it. */
  apply(a: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [q, k, v] = this.split(a);
      return this.attend(q, k, v, causalMask(a.shape[1]), a.shape[0]);
    });
  }

  /**
   * The one position a [N, 1, w] that follows those in `cache` (null: none yet), attending to
   * them and to itself (nothing to mask); returns the output and the grown cache.
   */
  step(a: tf.Tensor3D, cache: KeyValueCache | null): { out: tf.Tensor3D; cache: KeyValueCache } {
    return tf.tidy(() => {
      const [q, k, v] = this.split(a);
      const keys = cache ? (tf.concat([cache.keys, k], 1) as tf.Tensor3D) : k;
      const values = cache ? (tf.concat([cache.values, v], 1) as tf.Tensor3D) : v;
      return { out: this.attend(q, keys, values, null, a.shape[0]), cache: { keys, values } };
    });
  }

  /** q, k, v [N * heads, T, headDim] from a [N, T, w]; head h owns channels h*headDim.. of each part. */
  private split(a: tf.Tensor3D): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
    const [n, t] = a.shape;
    const parts = tf.reshape(this.qkv.apply(a), [n, t, 3 * this.heads, this.headDim]);
    const byHead = tf.transpose(parts, [0, 2, 1, 3]);
    return tf.split(byHead, 3, 1).map((p) => tf.reshape(p, [n * this.heads, t, this.headDim])) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
  }

  /** softmax(q k^T / sqrt(headDim) + mask) v, heads concatenated again, then the output projection. */
  private attend(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, mask: tf.Tensor2D | null, n: number): tf.Tensor3D {
    const t = q.shape[1];
    const scaled = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(this.headDim));
    const scores = mask ? tf.add(scaled, mask) : scaled;
    const mixed = tf.reshape(tf.matMul(tf.softmax(scores), v), [n, this.heads, t, this.headDim]);
    return this.proj.apply(tf.reshape(tf.transpose(mixed, [0, 2, 1, 3]), [n, t, this.width]) as tf.Tensor3D);
  }
}
