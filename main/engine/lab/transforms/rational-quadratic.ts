// Rational-quadratic monotone spline (Durkan et al. 2019, "Neural spline flows"; after nflows'
// rational_quadratic_spline): K bins on [-B, B] with softmax widths and heights and positive knot
// derivatives, 1 at both ends so the identity tails join smoothly. Inverse by the quadratic's root.
import * as tf from '../../tf.ts';
import type { ElementwiseTransform } from '../elementwise.ts';
import type { LayerOutput } from '../vector-layer.ts';
import { binMask, binsFrom, columns, pick, range, withIdentityTails } from './spline-bins.ts';

/** Smallest knot derivative, nflows' default. */
const MIN_DERIVATIVE = 1e-3;
/** softplus(raw + shift) + MIN_DERIVATIVE is 1 at raw = 0: zero parameters give the identity. */
const DERIVATIVE_SHIFT = Math.log(Math.expm1(1 - MIN_DERIVATIVE));

/** The numbers of each point's bin, [m, 1]: its corner, width, height, slope h/w and end derivatives. */
interface Bin {
  x0: tf.Tensor2D;
  y0: tf.Tensor2D;
  width: tf.Tensor2D;
  height: tf.Tensor2D;
  delta: tf.Tensor2D;
  d0: tf.Tensor2D;
  d1: tf.Tensor2D;
}

export class RationalQuadraticSpline implements ElementwiseTransform {
  readonly paramsPerDim: number;

  /** `bins` K on [-`tailBound`, `tailBound`]; the conditioner gives K widths, K heights, K-1 inner derivatives. */
  constructor(readonly bins: number, readonly tailBound: number) {
    this.paramsPerDim = 3 * bins - 1;
  }

  forward(x: tf.Tensor2D, params: tf.Tensor3D): LayerOutput {
    return withIdentityTails(x, params, this.tailBound, (inside, raw) => {
      const bin = this.binOf(inside, raw, false);
      const theta = tf.div(tf.sub(inside, bin.x0), bin.width) as tf.Tensor2D;
      const t1 = tf.mul(theta, tf.sub(1, theta));
      const numerator = tf.mul(bin.height, tf.add(tf.mul(bin.delta, tf.square(theta)), tf.mul(bin.d0, t1)));
      const out = tf.add(bin.y0, tf.div(numerator, denominator(bin, theta))) as tf.Tensor2D;
      return { out, logSlope: logSlope(bin, theta) };
    });
  }

  inverse(y: tf.Tensor2D, params: tf.Tensor3D): LayerOutput {
    return withIdentityTails(y, params, this.tailBound, (inside, raw) => {
      const bin = this.binOf(inside, raw, true);
      // θ solves a θ² + b θ + c = 0; 2c / (-b - √disc) is the root in [0, 1] without the cancellation of (-b + √disc) / 2a (as nflows).
      const rise = tf.sub(inside, bin.y0);
      const curvature = tf.sub(tf.add(bin.d0, bin.d1), tf.mul(2, bin.delta));
      const a = tf.add(tf.mul(rise, curvature), tf.mul(bin.height, tf.sub(bin.delta, bin.d0)));
      const b = tf.sub(tf.mul(bin.height, bin.d0), tf.mul(rise, curvature));
      const c = tf.mul(tf.neg(bin.delta), rise);
      const discriminant = tf.relu(tf.sub(tf.square(b), tf.mul(4, tf.mul(a, c))));
      const theta = tf.div(tf.mul(2, c), tf.sub(tf.neg(b), tf.sqrt(discriminant))) as tf.Tensor2D;
      const out = tf.add(tf.mul(theta, bin.width), bin.x0) as tf.Tensor2D;
      return { out, logSlope: tf.neg(logSlope(bin, theta)) };
    });
  }

  /** The bin each point lies in, found among the x knots (forward) or the y knots (inverse). */
  private binOf(v: tf.Tensor2D, raw: tf.Tensor2D, inverse: boolean): Bin {
    const k = this.bins;
    const xs = binsFrom(columns(raw, range(0, k)), this.tailBound);
    const ys = binsFrom(columns(raw, range(k, k)), this.tailBound);
    // Each bin's end derivatives; the outer ends pick a zero column, which the shift makes 1 (to float rounding).
    const inner = range(2 * k, k - 1);
    const derivative = (picks: (number | null)[]): tf.Tensor2D => tf.add(tf.softplus(tf.add(columns(raw, picks), DERIVATIVE_SHIFT)), MIN_DERIVATIVE);
    const mask = binMask(v, inverse ? ys.left : xs.left);
    const width = pick(xs.size, mask);
    const height = pick(ys.size, mask);
    return {
      x0: pick(xs.left, mask),
      y0: pick(ys.left, mask),
      width,
      height,
      delta: tf.div(height, width),
      d0: pick(derivative([null, ...inner]), mask),
      d1: pick(derivative([...inner, null]), mask),
    };
  }
}

/** δ + (d0 + d1 - 2δ) θ(1 - θ), the rational function's denominator. */
function denominator(bin: Bin, theta: tf.Tensor2D): tf.Tensor2D {
  const curvature = tf.sub(tf.add(bin.d0, bin.d1), tf.mul(2, bin.delta));
  return tf.add(bin.delta, tf.mul(curvature, tf.mul(theta, tf.sub(1, theta))));
}

/** log dy/dx at θ in the bin: log(δ² (d1 θ² + 2δ θ(1-θ) + d0 (1-θ)²)) - 2 log denominator. */
function logSlope(bin: Bin, theta: tf.Tensor2D): tf.Tensor2D {
  const oneMinus = tf.sub(1, theta);
  const numerator = tf.mul(
    tf.square(bin.delta),
    tf.add(tf.add(tf.mul(bin.d1, tf.square(theta)), tf.mul(tf.mul(2, bin.delta), tf.mul(theta, oneMinus))), tf.mul(bin.d0, tf.square(oneMinus))),
  );
  return tf.sub(tf.log(numerator), tf.mul(2, tf.log(denominator(bin, theta))));
}
