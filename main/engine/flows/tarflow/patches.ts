// TarFlow's sequence of patches: an NHWC image as T = (H/p)(W/p) patches in row-major order,
// each D = p*p*C values in (row in patch, column in patch, channel) order, and back.
import * as tf from '../../tf.ts';

/** x [N, H, W, C] -> [N, T, D]. */
export function patchify(x: tf.Tensor4D, patch: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const blocks = tf.reshape(x, [n, h / patch, patch, w / patch, patch, c]);
    return tf.reshape(tf.transpose(blocks, [0, 1, 3, 2, 4, 5]), [n, (h / patch) * (w / patch), patch * patch * c]) as tf.Tensor3D;
  });
}

/** The inverse of patchify: [N, T, D] -> [N, size, size, C]. */
export function unpatchify(seq: tf.Tensor3D, patch: number, size: number, channels: number): tf.Tensor4D {
  return tf.tidy(() => {
    const n = seq.shape[0];
    const side = size / patch;
    const blocks = tf.reshape(seq, [n, side, side, patch, patch, channels]);
    return tf.reshape(tf.transpose(blocks, [0, 1, 3, 2, 4, 5]), [n, size, size, channels]) as tf.Tensor4D;
  });
}
