// The network inside a coupling layer: conv3x3 -> ReLU -> conv1x1 -> ReLU -> zero-initialised
// conv3x3, as in Glow. Its zero start makes every coupling begin as the identity.
import * as tf from '../tf.ts';
import { conv1x1Bias, conv2dBias } from '../ops/conv2d.ts';
import type { Rng } from '../random.ts';
import { heNormal } from './init.ts';
import type { ParamScope } from './params.ts';
import { ZeroConv } from './zero-conv.ts';

export class CouplingNet {
  private readonly w1: tf.Variable;
  private readonly b1: tf.Variable;
  private readonly w2: tf.Variable;
  private readonly b2: tf.Variable;
  private readonly out: ZeroConv;

  constructor(scope: ParamScope, inChannels: number, hidden: number, outChannels: number, rng: Rng) {
    this.w1 = scope.variable('conv1.weight', heNormal([3, 3, inChannels, hidden], 9 * inChannels, rng));
    this.b1 = scope.variable('conv1.bias', tf.zeros([hidden]));
    this.w2 = scope.variable('conv2.weight', heNormal([hidden, hidden], hidden, rng));
    this.b2 = scope.variable('conv2.bias', tf.zeros([hidden]));
    this.out = new ZeroConv(scope.child('conv3'), hidden, outChannels);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const h1 = conv2dBias(x, this.w1 as tf.Tensor4D, this.b1 as tf.Tensor1D, 'relu');
      const h2 = conv1x1Bias(h1, this.w2 as tf.Tensor2D, this.b2 as tf.Tensor1D, 'relu');
      return this.out.apply(h2);
    });
  }
}
