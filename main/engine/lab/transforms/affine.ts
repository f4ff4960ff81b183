// Affine and additive elementwise maps y = s·x + t and y = x + t, the transforms of RealNVP, MAF
// and IAF (affine) and NICE (additive). Two scales: 'sigmoid', Glow's sigmoid(raw + 2) + floor,
// bounded above so one bad step cannot blow a point up (it can only shrink in this direction,
// which is the density direction of a coupling: samples spread); and 'exp', exp(3 tanh(raw / 3)),
// from e^-3 to e^3 either way, for autoregressive layers: an IAF's one-pass direction is its
// sampling direction, and a scale capped at 1 there could never spread samples wider than the base.
import * as tf from '../../tf.ts';
import type { ElementwiseTransform } from '../elementwise.ts';
import type { LayerOutput } from '../vector-layer.ts';

/** Smallest scale, keeping log s finite and the inverse bounded. */
const SCALE_FLOOR = 1e-3;

function param(params: tf.Tensor3D, k: number): tf.Tensor2D {
  const [n, d] = params.shape;
  return tf.reshape(tf.slice(params, [0, 0, k], [n, d, 1]), [n, d]);
}

/** Largest |log s| of the 'exp' scale. */
const LOG_SCALE_BOUND = 3;

export type AffineScale = 'sigmoid' | 'exp';

export class AffineTransform implements ElementwiseTransform {
  readonly paramsPerDim = 2;

  constructor(private readonly scale: AffineScale = 'sigmoid') {}

  private scaleOf(params: tf.Tensor3D): tf.Tensor2D {
    const raw = param(params, 1);
    return (this.scale === 'sigmoid'
      ? tf.add(tf.sigmoid(tf.add(raw, 2)), SCALE_FLOOR)
      : tf.exp(tf.mul(LOG_SCALE_BOUND, tf.tanh(tf.div(raw, LOG_SCALE_BOUND))))) as tf.Tensor2D;
  }

  forward(x: tf.Tensor2D, params: tf.Tensor3D): LayerOutput {
    return tf.tidy(() => {
      const s = this.scaleOf(params);
      return { out: tf.add(tf.mul(x, s), param(params, 0)), logDet: tf.sum(tf.log(s), 1) } as LayerOutput;
    });
  }

  inverse(y: tf.Tensor2D, params: tf.Tensor3D): LayerOutput {
    return tf.tidy(() => {
      const s = this.scaleOf(params);
      return { out: tf.div(tf.sub(y, param(params, 0)), s), logDet: tf.neg(tf.sum(tf.log(s), 1)) } as LayerOutput;
    });
  }
}

export class AdditiveTransform implements ElementwiseTransform {
  readonly paramsPerDim = 1;

  forward(x: tf.Tensor2D, params: tf.Tensor3D): LayerOutput {
    return tf.tidy(() => ({ out: tf.add(x, param(params, 0)), logDet: tf.zeros([x.shape[0]]) }) as LayerOutput);
  }

  inverse(y: tf.Tensor2D, params: tf.Tensor3D): LayerOutput {
    return tf.tidy(() => ({ out: tf.sub(y, param(params, 0)), logDet: tf.zeros([y.shape[0]]) }) as LayerOutput);
  }
}
