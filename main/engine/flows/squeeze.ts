// Squeeze: trades space for channels, [N,H,W,C] -> [N,H/2,W/2,4C], with Glow's channel order
// (c, dy, dx). A permutation of the input, so its log-determinant is zero.
import * as tf from '../tf.ts';
import type { FlowLayer } from './flow-layer.ts';

export function squeeze(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.tidy(() => {
    const t = tf.reshape(x, [n, h / 2, 2, w / 2, 2, c]);
    return tf.reshape(tf.transpose(t, [0, 1, 3, 5, 2, 4]), [n, h / 2, w / 2, 4 * c]);
  });
}

export function unsqueeze(y: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c4] = y.shape;
  const c = c4 / 4;
  return tf.tidy(() => {
    const t = tf.reshape(y, [n, h, w, c, 2, 2]);
    return tf.reshape(tf.transpose(t, [0, 1, 4, 2, 5, 3]), [n, h * 2, w * 2, c]);
  });
}

export class Squeeze implements FlowLayer {
  forward(x: tf.Tensor4D, logdet: tf.Tensor1D): [tf.Tensor4D, tf.Tensor1D] {
    return [squeeze(x), logdet];
  }

  inverse(y: tf.Tensor4D): tf.Tensor4D {
    return unsqueeze(y);
  }
}
