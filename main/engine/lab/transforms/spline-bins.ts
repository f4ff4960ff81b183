// What the two monotone splines share: bins on [-B, B] from a softmax with a floor (so knots
// rise by construction), the bin a point falls in as a one-hot mask (tfjs has no searchsorted),
// and the identity tails outside the bound.
import * as tf from '../../tf.ts';
import type { LayerOutput } from '../vector-layer.ts';

/** Smallest bin width and height as a fraction of the span, nflows' defaults. */
export const MIN_BIN_SIZE = 1e-3;

/** Parameter k..k+count of each coordinate: [n, d, count] out of [n, d, P]. */
export function paramSlice(params: tf.Tensor3D, k: number, count: number): tf.Tensor3D {
  const [n, d] = params.shape;
  return tf.slice(params, [0, 0, k], [n, d, count]);
}

/**
 * The knots of bins sized by softmax(raw) over [-bound, bound], each bin at least
 * MIN_BIN_SIZE of the span: [n, d, K+1], first exactly -bound, last exactly bound.
 */
export function knotsFrom(raw: tf.Tensor3D, bound: number): tf.Tensor3D {
  const [n, d, k] = raw.shape;
  if (MIN_BIN_SIZE * k >= 1) throw new Error(`${k} bins leave no room above the smallest bin size ${MIN_BIN_SIZE}`);
  const sizes = tf.add(MIN_BIN_SIZE, tf.mul(1 - MIN_BIN_SIZE * k, tf.softmax(raw)));
  // Inner knots only: the ends are set exactly, so rounding in the cumulative sum cannot move the bound.
  const inner = tf.sub(tf.mul(2 * bound, tf.slice(tf.cumsum(sizes, 2), [0, 0, 0], [n, d, k - 1])), bound);
  return tf.concat([tf.fill([n, d, 1], -bound), inner, tf.fill([n, d, 1], bound)], 2) as tf.Tensor3D;
}

/** Equally spaced knots on [-bound, bound], shaped to broadcast against [n, d, K+1]. */
export function uniformKnots(bins: number, bound: number): tf.Tensor3D {
  return tf.reshape(tf.linspace(-bound, bound, bins + 1), [1, 1, bins + 1]);
}

/**
 * One-hot [n, d, K] of the bin holding each value: bin k when knot k ≤ v < knot k+1, by
 * comparisons with the inner knots (sum over k of v ≥ knot_k is the index; the difference of
 * neighbouring comparisons is its one-hot). Values past the ends land in the first or last bin.
 */
export function binMask(v: tf.Tensor2D, knots: tf.Tensor3D): tf.Tensor3D {
  const k = knots.shape[2] - 1;
  const [n, d] = v.shape;
  const inner = tf.slice(knots, [0, 0, 1], [knots.shape[0], knots.shape[1], k - 1]);
  const above = tf.cast(tf.greaterEqual(tf.expandDims(v, 2), inner), 'float32');
  const lower = tf.concat([tf.ones([n, d, 1]), above], 2);
  const upper = tf.concat([above, tf.zeros([n, d, 1])], 2);
  return tf.sub(lower, upper) as tf.Tensor3D;
}

/** The entry of each coordinate's bin: [n, d] from [n, d, K] (or broadcastable) and a bin mask. */
export function pick(values: tf.Tensor3D, mask: tf.Tensor3D): tf.Tensor2D {
  return tf.sum(tf.mul(values, mask), 2);
}

/** Left (first K) and right (last K) ends of each bin, from [.., K+1] knots. */
export function binEnds(knots: tf.Tensor3D): { left: tf.Tensor3D; right: tf.Tensor3D } {
  const [a, b, k1] = knots.shape;
  return { left: tf.slice(knots, [0, 0, 0], [a, b, k1 - 1]), right: tf.slice(knots, [0, 0, 1], [a, b, k1 - 1]) };
}

/**
 * Applies `inside` (a map of [-bound, bound] onto itself with its elementwise log|slope|) and the
 * identity beyond the bound. Points outside are clamped before `inside` sees them, so its
 * formulas never produce the NaN whose zero gradient would still poison tf.where's.
 */
export function withIdentityTails(
  v: tf.Tensor2D,
  bound: number,
  inside: (clamped: tf.Tensor2D) => { out: tf.Tensor2D; logSlope: tf.Tensor2D },
): LayerOutput {
  return tf.tidy(() => {
    // bound ≥ |v| rather than two comparisons joined: GreaterEqual and Abs have (zero) gradients in tfjs, LogicalAnd has none.
    const within = tf.greaterEqual(bound, tf.abs(v));
    const { out, logSlope } = inside(tf.clipByValue(v, -bound, bound));
    return {
      out: tf.where(within, out, v),
      logDet: tf.sum(tf.where(within, logSlope, tf.zerosLike(logSlope)), 1),
    } as LayerOutput;
  });
}
