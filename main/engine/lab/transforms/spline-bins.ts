// What the two monotone splines share: bins on [-B, B] from a softmax with a floor (so knots
// rise by construction), the bin a point falls in as a one-hot mask (tfjs has no searchsorted),
// and the identity tails outside the bound. Points are rows of [m, 1], one per coordinate, and
// every per-bin quantity is [m, K]; column picks, cumulative sums and shifts are products with
// small 0/1 matrices, because tfjs's cpu slice, pad and concat on an inner axis go element by
// element (slices took most of a spline's step before).
import * as tf from '../../tf.ts';
import type { LayerOutput } from '../vector-layer.ts';

/** Smallest bin width and height as a fraction of the span, nflows' defaults. */
export const MIN_BIN_SIZE = 1e-3;

/** A [rows, cols] 0/1 matrix with ones where `one(r, c)`. */
function zeroOne(rows: number, cols: number, one: (r: number, c: number) => boolean): tf.Tensor2D {
  const m = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) m[r * cols + c] = one(r, c) ? 1 : 0;
  return tf.tensor2d(m, [rows, cols]);
}

/** The columns `picks` of [m, P] parameters as [m, picks.length]; a null pick is a column of zeros. */
export function columns(params: tf.Tensor2D, picks: readonly (number | null)[]): tf.Tensor2D {
  return tf.matMul(params, zeroOne(params.shape[1], picks.length, (r, c) => picks[c] === r));
}

/** Parameter columns from..from+count-1. */
export function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, k) => from + k);
}

export interface Bins {
  /** Each bin's left knot, [m, K] (or [1, K] shared); the first is exactly -bound. */
  readonly left: tf.Tensor2D;
  /** Each bin's size, > 0; they sum to 2 bound. */
  readonly size: tf.Tensor2D;
}

/** Bins sized by softmax(raw) [m, K] over [-bound, bound], each at least MIN_BIN_SIZE of the span. */
export function binsFrom(raw: tf.Tensor2D, bound: number): Bins {
  const k = raw.shape[1];
  if (MIN_BIN_SIZE * k >= 1) throw new Error(`${k} bins leave no room above the smallest bin size ${MIN_BIN_SIZE}`);
  const size = tf.mul(2 * bound, tf.add(MIN_BIN_SIZE, tf.mul(1 - MIN_BIN_SIZE * k, tf.softmax(raw)))) as tf.Tensor2D;
  // The left knot of bin c is -bound plus the sizes of the bins before it.
  return { left: tf.sub(tf.matMul(size, zeroOne(k, k, (r, c) => r < c)), bound), size };
}

/** K equal bins on [-bound, bound], shared by every row. */
export function uniformBins(bins: number, bound: number): Bins {
  const size = (2 * bound) / bins;
  return { left: tf.tensor2d(range(0, bins).map((c) => -bound + c * size), [1, bins]), size: tf.fill([1, bins], size) };
}

/**
 * One-hot [m, K] of the bin holding each value of [m, 1] (at or above its left knot, below the
 * next): the comparisons with the left knots, minus the same shifted one bin on.
 */
export function binMask(v: tf.Tensor2D, left: tf.Tensor2D): tf.Tensor2D {
  const k = left.shape[1];
  const atOrAbove = tf.cast(tf.greaterEqual(v, left), 'float32') as tf.Tensor2D;
  return tf.sub(atOrAbove, tf.matMul(atOrAbove, zeroOne(k, k, (r, c) => r === c + 1)));
}

/** The entry of each row's bin: [m, 1] from [m, K] (or [1, K]) and a bin mask. */
export function pick(values: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
  return tf.sum(tf.mul(values, mask), 1, true);
}

/**
 * Applies `inside` (a map of [-bound, bound] onto itself on [m, 1] points and [m, P] parameters,
 * with its log-slope) to each coordinate, and the identity beyond the bound. Points outside are
 * clamped before `inside` sees them, so its formulas never produce the NaN whose zero gradient
 * would still poison tf.where's.
 */
export function withIdentityTails(
  v: tf.Tensor2D,
  params: tf.Tensor3D,
  bound: number,
  inside: (clamped: tf.Tensor2D, params: tf.Tensor2D) => { out: tf.Tensor2D; logSlope: tf.Tensor2D },
): LayerOutput {
  return tf.tidy(() => {
    const [n, d, p] = params.shape;
    // bound ≥ |v| rather than two comparisons joined: GreaterEqual and Abs have (zero) gradients in tfjs, LogicalAnd has none.
    const within = tf.greaterEqual(bound, tf.abs(v));
    const { out, logSlope } = inside(tf.reshape(tf.clipByValue(v, -bound, bound), [n * d, 1]), tf.reshape(params, [n * d, p]));
    return {
      out: tf.where(within, tf.reshape(out, [n, d]), v),
      logDet: tf.sum(tf.where(within, tf.reshape(logSlope, [n, d]), tf.zerosLike(v)), 1),
    } as LayerOutput;
  });
}
