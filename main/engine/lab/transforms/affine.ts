// Affine and additive elementwise maps y = s·x + t and y = x + t, the transforms of RealNVP, MAF
// and IAF (affine) and NICE (additive). The scale is sigmoid(raw + 2) + floor, Glow's choice:
// bounded above, so one bad step cannot blow a point up, and never zero, so the map stays invertible.
import * as tf from '../../tf.ts';
import type { ElementwiseTransform } from '../elementwise.ts';
import type { LayerOutput } from '../vector-layer.ts';

/** Smallest scale, keeping log s finite and the inverse bounded. */
const SCALE_FLOOR = 1e-3;

function param(params: tf.Tensor3D, k: number): tf.Tensor2D {
  const [n, d] = params.shape;
  return tf.reshape(tf.slice(params, [0, 0, k], [n, d, 1]), [n, d]);
}

function scaleOf(params: tf.Tensor3D): tf.Tensor2D {
  return tf.add(tf.sigmoid(tf.add(param(params, 1), 2)), SCALE_FLOOR) as tf.Tensor2D;
}

export class AffineTransform implements ElementwiseTransform {
  readonly paramsPerDim = 2;

  forward(x: tf.Tensor2D, params: tf.Tensor3D): LayerOutput {
    return tf.tidy(() => {
      const s = scaleOf(params);
      return { out: tf.add(tf.mul(x, s), param(params, 0)), logDet: tf.sum(tf.log(s), 1) } as LayerOutput;
    });
  }

  inverse(y: tf.Tensor2D, params: tf.Tensor3D): LayerOutput {
    return tf.tidy(() => {
      const s = scaleOf(params);
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
