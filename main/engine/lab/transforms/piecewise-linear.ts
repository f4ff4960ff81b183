// Piecewise-linear monotone spline (Müller et al. 2019, "Neural importance sampling"): K equal
// bins on [-B, B] whose heights come from a softmax, identity outside. Both directions are exact.
import * as tf from '../../tf.ts';
import type { ElementwiseTransform } from '../elementwise.ts';
import type { LayerOutput } from '../vector-layer.ts';
import { binMask, binsFrom, pick, uniformBins, withIdentityTails, type Bins } from './spline-bins.ts';

export class PiecewiseLinearSpline implements ElementwiseTransform {
  readonly paramsPerDim: number;

  /** `bins` K equal bins on [-`tailBound`, `tailBound`]; the conditioner gives K unnormalised heights. */
  constructor(readonly bins: number, readonly tailBound: number) {
    this.paramsPerDim = bins;
  }

  forward(x: tf.Tensor2D, params: tf.Tensor3D): LayerOutput {
    return this.apply(x, params, false);
  }

  inverse(y: tf.Tensor2D, params: tf.Tensor3D): LayerOutput {
    return this.apply(y, params, true);
  }

  /** The linear piece of each point's bin maps it; the same code runs both ways with the bins swapped. */
  private apply(v: tf.Tensor2D, params: tf.Tensor3D, inverse: boolean): LayerOutput {
    return withIdentityTails(v, params, this.tailBound, (inside, raw) => {
      const xBins = uniformBins(this.bins, this.tailBound);
      const yBins = binsFrom(raw, this.tailBound);
      const [from, to]: Bins[] = inverse ? [yBins, xBins] : [xBins, yBins];
      const mask = binMask(inside, from.left);
      const slope = pick(tf.div(to.size, from.size), mask);
      const out = tf.add(pick(to.left, mask), tf.mul(tf.sub(inside, pick(from.left, mask)), slope)) as tf.Tensor2D;
      return { out, logSlope: tf.log(slope) };
    });
  }
}
