// The velocity field v(x, t) of flow matching on images: a small U-Net on NHWC batches that
// changes resolution with FlowDesk's squeeze/unsqueeze (no pooling or transposed kernels), adds
// sin/cos features of t in every residual block, and ends in a zero-initialised convolution.
// With classes, a learned class embedding is added to the time embedding every block sees.
import * as tf from '../tf.ts';
import { gaussianWeights, heNormal } from '../flows/init.ts';
import type { ParamScope } from '../flows/params.ts';
import { squeeze, unsqueeze } from '../flows/squeeze.ts';
import { ZeroConv } from '../flows/zero-conv.ts';
import { conv1x1Bias, conv2dBias, denseBias } from '../ops/conv2d.ts';
import type { Rng } from '../random.ts';

/** What shapes the network: the image, `levels` down-samplings, `depth` blocks per resolution each way, `hidden` channels at full resolution. */
export interface UNetShape {
  size: number;
  channels: number;
  levels: number;
  depth: number;
  hidden: number;
  /** Classes K of a conditional field; 0 or absent: none. */
  classes?: number;
}

/** Angular frequencies of the time features sin(ωt), cos(ωt): t in [0, 1] is resolved down to about 1/30. */
const TIME_FREQUENCIES = [1, 2, 4, 8, 16, 32].map((k) => k * Math.PI);

/** Channels at level i: the width doubles with each down-sampling. */
function widthAt(shape: UNetShape, level: number): number {
  return shape.hidden * 2 ** level;
}

function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** h + conv(silu(conv(silu(h)) + time)): the time embedding enters as a per-channel shift. */
class ResidualBlock {
  private readonly w1: tf.Variable;
  private readonly b1: tf.Variable;
  private readonly wt: tf.Variable;
  private readonly bt: tf.Variable;
  private readonly w2: tf.Variable;
  private readonly b2: tf.Variable;

  constructor(scope: ParamScope, width: number, timeWidth: number, rng: Rng) {
    this.w1 = scope.variable('conv1.weight', heNormal([3, 3, width, width], 9 * width, rng));
    this.b1 = scope.variable('conv1.bias', tf.zeros([width]));
    this.wt = scope.variable('time.weight', gaussianWeights([timeWidth, width], Math.sqrt(1 / timeWidth), rng));
    this.bt = scope.variable('time.bias', tf.zeros([width]));
    // Half the usual scale: the residual sums of a deep U-Net stay near unit size at the start.
    this.w2 = scope.variable('conv2.weight', gaussianWeights([3, 3, width, width], Math.sqrt(0.5 / (9 * width)), rng));
    this.b2 = scope.variable('conv2.bias', tf.zeros([width]));
  }

  apply(h: tf.Tensor4D, time: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      const [n, , , width] = h.shape;
      const a = conv2dBias(silu(h) as tf.Tensor4D, this.w1 as tf.Tensor4D, this.b1 as tf.Tensor1D);
      const shift = tf.reshape(denseBias(time, this.wt as tf.Tensor2D, this.bt as tf.Tensor1D), [n, 1, 1, width]);
      const b = conv2dBias(silu(tf.add(a, shift)) as tf.Tensor4D, this.w2 as tf.Tensor4D, this.b2 as tf.Tensor1D);
      return tf.add(h, b) as tf.Tensor4D;
    });
  }
}

/** A 1x1 convolution with bias: the channel change around a squeeze. */
class Pointwise {
  private readonly w: tf.Variable;
  private readonly b: tf.Variable;

  constructor(scope: ParamScope, from: number, to: number, rng: Rng) {
    this.w = scope.variable('weight', gaussianWeights([from, to], Math.sqrt(1 / from), rng));
    this.b = scope.variable('bias', tf.zeros([to]));
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return conv1x1Bias(x, this.w as tf.Tensor2D, this.b as tf.Tensor1D);
  }
}

export class UNetVelocity {
  private readonly inputWeight: tf.Variable;
  private readonly inputBias: tf.Variable;
  private readonly timeWeight: tf.Variable;
  private readonly timeBias: tf.Variable;
  /** [K, hidden], one row per class added to the time embedding; null for an unconditional field. */
  private readonly classEmbedding: tf.Variable | null;
  private readonly down: { blocks: ResidualBlock[]; squeezed: Pointwise }[] = [];
  private readonly middle: ResidualBlock[];
  private readonly up: { unsqueezed: Pointwise; blocks: ResidualBlock[] }[] = [];
  private readonly output: ZeroConv;

  constructor(scope: ParamScope, readonly shape: UNetShape, rng: Rng) {
    const { channels, levels, depth, hidden } = shape;
    const blocks = (s: ParamScope, width: number) => Array.from({ length: depth }, (_, k) => new ResidualBlock(s.child(`blocks.${k}`), width, hidden, rng));
    this.inputWeight = scope.variable('input.weight', heNormal([3, 3, channels, hidden], 9 * channels, rng));
    this.inputBias = scope.variable('input.bias', tf.zeros([hidden]));
    const features = 2 * TIME_FREQUENCIES.length;
    this.timeWeight = scope.variable('time.weight', gaussianWeights([features, hidden], Math.sqrt(1 / features), rng));
    this.timeBias = scope.variable('time.bias', tf.zeros([hidden]));
    // Zero rows: an untrained conditional field is the unconditional one, and the other weights
    // (drawn from `rng` in the same order) are those of classes 0.
    this.classEmbedding = (shape.classes ?? 0) > 0 ? scope.variable('class.weight', tf.zeros([shape.classes!, hidden])) : null;
    for (let i = 0; i < levels; i++) {
      const s = scope.child(`down.${i}`);
      const w = widthAt(shape, i);
      this.down.push({ blocks: blocks(s, w), squeezed: new Pointwise(s.child('squeezed'), 4 * w, widthAt(shape, i + 1), rng) });
    }
    this.middle = blocks(scope.child('middle'), widthAt(shape, levels));
    for (let i = levels - 1; i >= 0; i--) {
      const s = scope.child(`up.${i}`);
      const w = widthAt(shape, i);
      this.up.push({ unsqueezed: new Pointwise(s.child('unsqueezed'), widthAt(shape, i + 1), 4 * w, rng), blocks: blocks(s, w) });
    }
    this.output = new ZeroConv(scope.child('output'), hidden, channels);
  }

  /** v(x, t, c) for images x [n, H, W, C] at times t [n]; `c` [n, K] one-hot classes (an all-zero row or none: no class). */
  apply(x: tf.Tensor4D, t: tf.Tensor1D, c?: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      const time = c && this.classEmbedding ? (tf.add(this.timeEmbedding(t), tf.matMul(c, this.classEmbedding)) as tf.Tensor2D) : this.timeEmbedding(t);
      let h = conv2dBias(x, this.inputWeight as tf.Tensor4D, this.inputBias as tf.Tensor1D);
      const skips: tf.Tensor4D[] = [];
      for (const level of this.down) {
        for (const block of level.blocks) h = block.apply(h, time);
        skips.push(h);
        h = level.squeezed.apply(squeeze(h));
      }
      for (const block of this.middle) h = block.apply(h, time);
      for (const level of this.up) {
        h = tf.add(unsqueeze(level.unsqueezed.apply(h)), skips.pop()!) as tf.Tensor4D;
        for (const block of level.blocks) h = block.apply(h, time);
      }
      return this.output.apply(silu(h) as tf.Tensor4D);
    });
  }

  /** silu(dense([sin ωt, cos ωt])): [n, hidden], shared by every block. */
  private timeEmbedding(t: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const n = t.shape[0];
      const angles = tf.mul(tf.reshape(t, [n, 1]), tf.tensor2d(TIME_FREQUENCIES, [1, TIME_FREQUENCIES.length]));
      const features = tf.concat([tf.sin(angles), tf.cos(angles)], 1) as tf.Tensor2D;
      return silu(denseBias(features, this.timeWeight as tf.Tensor2D, this.timeBias as tf.Tensor1D)) as tf.Tensor2D;
    });
  }
}

/** Side and width of each resolution, full size first. */
function resolutions(s: UNetShape): { side: number; width: number }[] {
  return Array.from({ length: s.levels + 1 }, (_, i) => ({ side: s.size / 2 ** i, width: widthAt(s, i) }));
}

/** Residual blocks at resolution i: `depth` down and `depth` up, `depth` in the middle. */
function blocksAt(s: UNetShape, level: number): number {
  return level === s.levels ? s.depth : 2 * s.depth;
}

/** Weights of the 3x3 convolutions of the residual blocks alone: a lower bound of the parameter count. */
export function unetBlockWeights(s: UNetShape): number {
  return resolutions(s).reduce((sum, r, i) => sum + blocksAt(s, i) * 2 * 9 * r.width * r.width, 0);
}

/** Multiply-adds of one image's pass: blocks, the 1x1 convolutions around each squeeze, input and output. */
export function unetMacs(s: UNetShape): number {
  const res = resolutions(s);
  let total = 2 * s.size * s.size * 9 * s.channels * s.hidden;
  res.forEach((r, i) => {
    total += blocksAt(s, i) * r.side * r.side * 2 * 9 * r.width * r.width;
    if (i > 0) total += 2 * r.side * r.side * 4 * res[i - 1].width * r.width;
  });
  return total;
}

/** Values kept for backprop per image (about eight maps per block: activations, sigmoids, sums). */
export function unetActivations(s: UNetShape): number {
  return resolutions(s).reduce((sum, r, i) => sum + (8 * blocksAt(s, i) + 4) * r.side * r.side * r.width, 0);
}
