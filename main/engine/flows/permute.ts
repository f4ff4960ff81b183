// Fixed channel permutations (Glow's "shuffle" and "reverse" alternatives to the 1x1
// convolution): volume preserving, so their log-determinant is zero.
import * as tf from '../tf.ts';
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

  forward(x: tf.Tensor4D, logdet: tf.Tensor1D): [tf.Tensor4D, tf.Tensor1D] {
    return [tf.gather(x, this.perm as tf.Tensor1D, 3) as tf.Tensor4D, logdet];
  }

  inverse(y: tf.Tensor4D): tf.Tensor4D {
    // Only sampling and decoding need the inverse; deriving it here keeps loading trivial.
    const order = this.perm.dataSync();
    const inverse = new Int32Array(order.length);
    for (let i = 0; i < order.length; i++) inverse[order[i]] = i;
    return tf.tidy(() => tf.gather(y, tf.tensor1d(inverse, 'int32'), 3) as tf.Tensor4D);
  }
}
