// Fixed channel permutations (Glow's "shuffle" and "reverse" alternatives to the 1x1
// convolution): volume preserving, so their log-determinant is zero.
import * as tf from '../tf.ts';
import { conv1x1, permutationMatrix } from '../ops/conv2d.ts';
import type { FlowLayer } from './flow-layer.ts';
import type { ParamScope } from './params.ts';
import type { Rng } from '../random.ts';

export class ChannelPermutation implements FlowLayer {
  /** Saved as a buffer so a loaded model permutes exactly as the trained one did. */
  private readonly perm: tf.Variable;

  constructor(scope: ParamScope, channels: number, kind: 'shuffle' | 'reverse', rng: Rng) {
    const order = new Int32Array(channels);
    if (kind === 'reverse') for (let i = 0; i < channels; i++) order[i] = channels - 1 - i;
    else order.set(rng.permutation(channels));
    this.perm = scope.buffer('perm', tf.tensor1d(order, 'int32'));
  }

  /**
   * y[..., i] = x[..., perm[i]] as a product with a one-hot matrix: tf.gather's gradient needs
   * a kernel (UnsortedSegmentSum) the wasm backend lacks, and C is small.
   */
  forward(x: tf.Tensor4D, logdet: tf.Tensor1D): [tf.Tensor4D, tf.Tensor1D] {
    const c = x.shape[3];
    const y = tf.tidy(() => conv1x1(x, tf.transpose(permutationMatrix(this.perm as tf.Tensor1D, c)) as tf.Tensor2D));
    return [y, logdet];
  }

  inverse(y: tf.Tensor4D): tf.Tensor4D {
    const c = y.shape[3];
    return tf.tidy(() => conv1x1(y, permutationMatrix(this.perm as tf.Tensor1D, c) as tf.Tensor2D));
  }
}
