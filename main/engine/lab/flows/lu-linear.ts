// An invertible linear layer on rows, y = W x, with the LU parametrisation W = P L (U + diag(s))
// (P a fixed buffer, L unit lower, U strictly upper, log|s| trained): the image layer's weight
// (flows/invconv.ts), so its init (a random rotation), names and float64 inverse are reused.
import * as tf from '../../tf.ts';
import { InvConv1x1 } from '../../flows/invconv.ts';
import type { ParamScope } from '../../flows/params.ts';
import type { Rng } from '../../random.ts';
import type { LayerOutput, VectorLayer } from '../vector-layer.ts';
import { implicitInverse } from './numerical-inverse.ts';

export class LuLinear implements VectorLayer {
  readonly lu: InvConv1x1;

  constructor(scope: ParamScope, readonly dim: number, rng: Rng) {
    this.lu = new InvConv1x1(scope, dim, rng);
  }

  forward(x: tf.Tensor2D): LayerOutput {
    return tf.tidy(() => {
      const out = tf.matMul(x, this.lu.weight(), false, true) as tf.Tensor2D;
      return { out, logDet: tf.mul(tf.ones([x.shape[0]]), tf.sum(this.lu.logs)) } as LayerOutput;
    });
  }

  /**
   * x = W⁻¹ z with W⁻¹ from float64 (a constant to autodiff), given W's gradient by the same
   * implicit step as the numerical inverses, so reverse KL trains through sampling.
   */
  inverse(z: tf.Tensor2D): LayerOutput {
    return tf.tidy(() => {
      const invT = this.lu.inverseTransposed();
      const x0 = tf.matMul(z, invT) as tf.Tensor2D;
      const residual = tf.sub(tf.matMul(x0, this.lu.weight(), false, true), z) as tf.Tensor2D;
      const out = implicitInverse(x0, residual, (r) => tf.matMul(r, invT) as tf.Tensor2D);
      return { out, logDet: tf.mul(tf.ones([z.shape[0]]), tf.neg(tf.sum(this.lu.logs))) } as LayerOutput;
    });
  }
}
