// A 3x3 convolution that starts at exactly zero, with a learned per-channel output scale
// exp(3 * logs) (Glow's Conv2dZeros): coupling layers and split priors start as identities.
import * as tf from '../tf.ts';
import { conv2dBias, scaledOutputs } from '../ops/conv2d.ts';
import type { ParamScope } from './params.ts';

/** Glow's factor on the learned output log-scale; it speeds up learning that scale. */
export const LOGSCALE_FACTOR = 3;

export class ZeroConv {
  private readonly weight: tf.Variable;
  private readonly bias: tf.Variable;
  private readonly logs: tf.Variable;

  constructor(scope: ParamScope, inChannels: number, outChannels: number) {
    this.weight = scope.variable('weight', tf.zeros([3, 3, inChannels, outChannels]));
    this.bias = scope.variable('bias', tf.zeros([outChannels]));
    this.logs = scope.variable('logs', tf.zeros([outChannels]));
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      // (conv + bias) * scale, with the scale on the weights and the bias (conv2d.ts scaledOutputs).
      const scale = tf.exp(tf.mul(this.logs, LOGSCALE_FACTOR)) as tf.Tensor1D;
      return conv2dBias(x, scaledOutputs(this.weight as tf.Tensor4D, scale), tf.mul(this.bias, scale) as tf.Tensor1D);
    });
  }
}
