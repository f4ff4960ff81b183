// Arithmetic on a model's latents, which are per-level tensors: interpolation (linear or
// spherical over all levels at once), the four-image grid formula, scaling and directions.
import * as tf from '../tf.ts';

export type Latents = tf.Tensor4D[];

/** All levels as one [N, D] matrix, so angles are taken over the whole latent. */
export function flatten(zs: Latents): tf.Tensor2D {
  return tf.tidy(() => tf.concat(zs.map((z) => tf.reshape(z, [z.shape[0], -1])), 1) as tf.Tensor2D);
}

/** Back to per-level tensors shaped like `like` (batch taken from `flat`). */
export function unflatten(flat: tf.Tensor2D, like: Latents): Latents {
  return tf.tidy(() => {
    const n = flat.shape[0];
    let at = 0;
    return like.map((z) => {
      const size = z.shape[1] * z.shape[2] * z.shape[3];
      const part = tf.slice(flat, [0, at], [n, size]);
      at += size;
      return tf.reshape(part, [n, z.shape[1], z.shape[2], z.shape[3]]) as tf.Tensor4D;
    });
  });
}

/** Row i of `a` and `b` mixed at t: (1-t) a + t b, or along the great circle when spherical. */
export function mix(a: tf.Tensor2D, b: tf.Tensor2D, t: number, spherical: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    if (!spherical) return tf.add(tf.mul(a, 1 - t), tf.mul(b, t)) as tf.Tensor2D;
    const na = tf.norm(a, 'euclidean', 1, true);
    const nb = tf.norm(b, 'euclidean', 1, true);
    const cos = tf.clipByValue(tf.div(tf.sum(tf.mul(a, b), 1, true), tf.mul(na, nb)), -1, 1);
    const omega = tf.acos(cos);
    const sin = tf.sin(omega);
    // Nearly parallel vectors: slerp tends to lerp, which avoids dividing by sin(omega) ~ 0.
    const safe = tf.greater(sin, 1e-6);
    const wa = tf.where(safe, tf.div(tf.sin(tf.mul(omega, 1 - t)), sin), tf.fill(sin.shape, 1 - t));
    const wb = tf.where(safe, tf.div(tf.sin(tf.mul(omega, t)), sin), tf.fill(sin.shape, t));
    return tf.add(tf.mul(a, wa), tf.mul(b, wb)) as tf.Tensor2D;
  });
}

/** z = cos(a)(z1 cos(b) + z2 sin(b)) + sin(a)(z3 cos(b) + z4 sin(b)), a and b in [0, pi/2]. */
export function gridPoint(z1: tf.Tensor2D, z2: tf.Tensor2D, z3: tf.Tensor2D, z4: tf.Tensor2D, a: number, b: number): tf.Tensor2D {
  return tf.tidy(() => {
    const top = tf.add(tf.mul(z1, Math.cos(b)), tf.mul(z2, Math.sin(b)));
    const bottom = tf.add(tf.mul(z3, Math.cos(b)), tf.mul(z4, Math.sin(b)));
    return tf.add(tf.mul(top, Math.cos(a)), tf.mul(bottom, Math.sin(a))) as tf.Tensor2D;
  });
}
