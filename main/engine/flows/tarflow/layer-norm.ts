// Layer normalisation over the channels of each sequence position (eps 1e-5, a gain and a bias
// per channel), written with Mean, Sqrt and a division so every kernel has an ONNX opset-17 op.
import * as tf from '../../tf.ts';
import type { ParamScope } from '../params.ts';

/** PyTorch's LayerNorm default. */
const EPSILON = 1e-5;

export class LayerNorm {
  private readonly g: tf.Variable;
  private readonly b: tf.Variable;

  constructor(scope: ParamScope, channels: number) {
    this.g = scope.variable('g', tf.ones([channels]));
    this.b = scope.variable('b', tf.zeros([channels]));
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const centred = tf.sub(x, tf.mean(x, -1, true));
      const std = tf.sqrt(tf.add(tf.mean(tf.square(centred), -1, true), EPSILON));
      return tf.add(tf.mul(tf.div(centred, std), this.g), this.b) as tf.Tensor3D;
    });
  }
}
