// Priors of the latents: a split's learned conditional prior (mean and log-std from the kept
// half through a zero conv), a learned top prior (per channel or per position), and the fixed standard normal (RealNVP, NICE).
import * as tf from '../tf.ts';
import type { GaussianParams } from './gaussian.ts';
import type { ParamScope } from './params.ts';
import { LOGSCALE_FACTOR, ZeroConv } from './zero-conv.ts';

export interface Prior {
  /** Parameters of p(z | h), or null for the standard normal. */
  params(h: tf.Tensor4D | null): GaussianParams | null;
}

export const standardNormal: Prior = { params: () => null };

/** p(z_i | h_i) for the channels a split factors out (Glow's "split2d"). */
export class ConditionalPrior implements Prior {
  private readonly conv: ZeroConv;

  constructor(scope: ParamScope, keptChannels: number, latentChannels: number) {
    this.conv = new ZeroConv(scope, keptChannels, 2 * latentChannels);
  }

  params(h: tf.Tensor4D | null): GaussianParams {
    const out = this.conv.apply(h!);
    const c = out.shape[3] / 2;
    return {
      mean: tf.slice(out, [0, 0, 0, 0], [-1, -1, -1, c]),
      logs: tf.slice(out, [0, 0, 0, c], [-1, -1, -1, c]),
    };
  }
}

/**
 * The Glow paper's top prior (`learntop`): a zero convolution of zeros, which is its bias times
 * exp(3 * logs), giving a mean and log-std per channel shared by every position. Starts at N(0, 1).
 */
export class ChannelPrior implements Prior {
  private readonly bias: tf.Variable;
  private readonly logs: tf.Variable;

  constructor(scope: ParamScope, channels: number) {
    this.bias = scope.variable('bias', tf.zeros([2 * channels]));
    this.logs = scope.variable('logs', tf.zeros([2 * channels]));
  }

  params(): GaussianParams {
    const c = this.bias.shape[0] / 2;
    const h = tf.reshape(tf.mul(this.bias, tf.exp(tf.mul(this.logs, LOGSCALE_FACTOR))), [1, 1, 1, 2 * c]);
    return { mean: tf.slice(h, [0, 0, 0, 0], [-1, -1, -1, c]), logs: tf.slice(h, [0, 0, 0, c], [-1, -1, -1, c]) };
  }
}

/** A learned mean and log-std per top-level position and channel, starting at N(0, 1) (FlowDesk's Glow before model format 2). */
export class PositionPrior implements Prior {
  private readonly mean: tf.Variable;
  private readonly logs: tf.Variable;

  constructor(scope: ParamScope, shape: [number, number, number]) {
    this.mean = scope.variable('mean', tf.zeros([1, ...shape]));
    this.logs = scope.variable('logs', tf.zeros([1, ...shape]));
  }

  params(): GaussianParams {
    return { mean: this.mean, logs: this.logs };
  }
}
