// The Lab's base distribution, a standard normal on R^D: its log-density and seeded draws.
import * as tf from '../tf.ts';
import type { Rng } from '../random.ts';

const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/** log N(z; 0, I) for each row, in nats. */
export function normalLogProb(z: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sub(tf.mul(-0.5, tf.sum(tf.square(z), 1)), z.shape[1] * HALF_LOG_TWO_PI) as tf.Tensor1D);
}

/** `n` rows of standard normal draws from `rng` (seeded, unlike tf.randomNormal's global state). */
export function normalPoints(n: number, dim: number, rng: Rng): tf.Tensor2D {
  return tf.tensor2d(rng.fillNormal(new Float32Array(n * dim)), [n, dim]);
}
