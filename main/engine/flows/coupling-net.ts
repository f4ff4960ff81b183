// The network inside a coupling layer: conv3x3 -> ReLU -> conv1x1 -> ReLU -> zero-initialised
// conv3x3, as in Glow. Each hidden convolution is followed by ActNorm (the paper's `conv2d`) or,
// in FlowDesk's Glow before model format 2 and in RealNVP, by a plain bias. The zero start
// makes every coupling begin as the identity.
import * as tf from '../tf.ts';
import { conv1x1Bias, conv2dBias, scaledOutputs, type Activation } from '../ops/conv2d.ts';
import type { Rng } from '../random.ts';
import { ActNorm } from './actnorm.ts';
import { gaussianWeights, heNormal } from './init.ts';
import type { ParamScope } from './params.ts';
import { ZeroConv } from './zero-conv.ts';

/** What follows each hidden convolution: ActNorm (the Glow paper) or a bias. */
export type NetNorm = 'actnorm' | 'bias';

/** openai/glow's `default_initializer`: N(0, 0.05) weights, which ActNorm then rescales. */
const PAPER_WEIGHT_STD = 0.05;

/**
 * A convolution given a per-output-channel factor on its weights (null: none), the bias to add
 * and the activation to apply, both fused into its kernel.
 */
type BiasedConv = (scale: tf.Tensor1D | null, bias: tf.Tensor1D, activation: Activation) => tf.Tensor4D;

/** The output of a hidden convolution: relu(conv + bias), scaled by ActNorm's exp(logs) when it has one. */
type HiddenOutput = (conv: BiasedConv) => tf.Tensor4D;

function plainBias(scope: ParamScope, channels: number): HiddenOutput {
  const bias = scope.variable('bias', tf.zeros([channels]));
  return (conv) => conv(null, bias as tf.Tensor1D, 'relu');
}

/**
 * relu((conv + bias) * s) with s = exp(logs) > 0, as relu(conv with weights W s + bias s): the
 * scale lands on the weights' output channels and the bias, not on every pixel's activations,
 * and ActNorm's bias and the ReLU ride on the convolution's kernel.
 */
function actNormed(scope: ParamScope, channels: number): HiddenOutput {
  const norm = new ActNorm(scope.child('actnorm'), channels);
  return (conv) => {
    norm.initialiseIfPending(() => conv(null, tf.zerosLike(norm.bias) as tf.Tensor1D, 'linear'));
    const scale = tf.exp(norm.logs) as tf.Tensor1D;
    return conv(scale, tf.mul(norm.bias, scale) as tf.Tensor1D, 'relu');
  };
}

export class CouplingNet {
  private readonly w1: tf.Variable;
  private readonly out1: HiddenOutput;
  private readonly w2: tf.Variable;
  private readonly out2: HiddenOutput;
  private readonly out: ZeroConv;

  constructor(scope: ParamScope, inChannels: number, hidden: number, outChannels: number, norm: NetNorm, rng: Rng) {
    const paper = norm === 'actnorm';
    // He's start keeps a bias network's activations at unit scale; ActNorm does that itself.
    const weights = (shape: number[], fanIn: number) => (paper ? gaussianWeights(shape, PAPER_WEIGHT_STD, rng) : heNormal(shape, fanIn, rng));
    const after = paper ? actNormed : plainBias;
    this.w1 = scope.variable('conv1.weight', weights([3, 3, inChannels, hidden], 9 * inChannels));
    this.out1 = after(scope.child('conv1'), hidden);
    this.w2 = scope.variable('conv2.weight', weights([hidden, hidden], hidden));
    this.out2 = after(scope.child('conv2'), hidden);
    this.out = new ZeroConv(scope.child('conv3'), hidden, outChannels);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const h1 = this.out1((scale, bias, activation) => conv2dBias(x, scaledOutputs(this.w1 as tf.Tensor4D, scale), bias, activation));
      const h2 = this.out2((scale, bias, activation) => conv1x1Bias(h1, scaledOutputs(this.w2 as tf.Tensor2D, scale), bias, activation));
      return this.out.apply(h2);
    });
  }
}
