// The conditioning network of a restoration-trained flow (SRFlow's idea, issue 17 way 2): two 3x3
// convolutions of the observation y at full resolution, then per resolution a squeeze and a 1x1
// convolution, so each level's couplings see features of y at their own size.
import * as tf from '../tf.ts';
import { conv1x1Bias, conv2dBias } from '../ops/conv2d.ts';
import type { Rng } from '../random.ts';
import { heNormal } from './init.ts';
import type { ParamScope } from './params.ts';
import { squeeze } from './squeeze.ts';

/** Feature channels of the encoder for a flow of coupling width `hidden`: a quarter of it, from 8 to 64. */
export function observationWidth(hidden: number): number {
  return Math.min(64, Math.max(8, Math.round(hidden / 4)));
}

interface Conv {
  weight: tf.Variable;
  bias: tf.Variable;
}

export class ObservationEncoder {
  private readonly full: [Conv, Conv];
  /** The 1x1 convolution after each squeeze: resolution r (1, 2, ...) is at 1 / 2^r of the side. */
  private readonly squeezed: Conv[] = [];

  /** `resolutions`: how many feature maps `features` gives, the full-size one first. */
  constructor(scope: ParamScope, inChannels: number, readonly width: number, resolutions: number, rng: Rng) {
    const conv = (name: string, shape: number[], fanIn: number): Conv => ({
      weight: scope.variable(`${name}.weight`, heNormal(shape, fanIn, rng)),
      bias: scope.variable(`${name}.bias`, tf.zeros([shape[shape.length - 1]])),
    });
    this.full = [conv('conv1', [3, 3, inChannels, width], 9 * inChannels), conv('conv2', [3, 3, width, width], 9 * width)];
    for (let r = 1; r < resolutions; r++) this.squeezed.push(conv(`down${r}`, [4 * width, width], 4 * width));
  }

  /** Features of `y` [n, H, W, C'] at every resolution r, [n, H / 2^r, W / 2^r, width]. */
  features(y: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => {
      const [first, second] = this.full;
      let h = conv2dBias(y, first.weight as tf.Tensor4D, first.bias as tf.Tensor1D, 'relu');
      h = conv2dBias(h, second.weight as tf.Tensor4D, second.bias as tf.Tensor1D, 'relu');
      const out = [h];
      for (const down of this.squeezed) {
        h = conv1x1Bias(squeeze(h), down.weight as tf.Tensor2D, down.bias as tf.Tensor1D, 'relu');
        out.push(h);
      }
      return out;
    });
  }
}
