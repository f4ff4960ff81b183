// Diagonal Gaussian log densities, summed per example, and temperature-scaled draws from them.
import * as tf from '../tf.ts';
import type { Rng } from '../random.ts';

const LOG_2PI = Math.log(2 * Math.PI);

/** Mean and log standard deviation of a diagonal Gaussian, broadcastable to z. */
export interface GaussianParams {
  mean: tf.Tensor;
  logs: tf.Tensor;
}

/** sum over H, W, C of log N(z; mean, exp(logs)^2), one value per example. */
export function gaussianLogDensity(z: tf.Tensor4D, p: GaussianParams | null): tf.Tensor1D {
  return tf.tidy(() => {
    if (!p) return tf.sum(tf.mul(-0.5, tf.add(tf.square(z), LOG_2PI)), [1, 2, 3]) as tf.Tensor1D;
    const scaled = tf.mul(tf.sub(z, p.mean), tf.exp(tf.neg(p.logs)));
    const terms = tf.add(tf.add(tf.square(scaled), tf.mul(2, p.logs)), LOG_2PI);
    // `scaled` already has z's full [N,H,W,C] shape, so a [1,H,W,C] prior broadcasts over the batch.
    return tf.sum(tf.mul(-0.5, terms), [1, 2, 3]) as tf.Tensor1D;
  });
}

/** mean + temperature * std * eps, with eps drawn from `rng` (so a seed fixes the sample). */
export function sampleGaussian(shape: number[], p: GaussianParams | null, temperature: number, rng: Rng): tf.Tensor4D {
  const size = shape.reduce((a, b) => a * b, 1);
  return gaussianFromNoise(rng.fillNormal(new Float32Array(size), temperature), shape, p);
}

/** mean + std * noise, for standard-normal noise already multiplied by the temperature. */
export function gaussianFromNoise(noise: Float32Array | tf.Tensor4D, shape: number[], p: GaussianParams | null): tf.Tensor4D {
  return tf.tidy(() => {
    const e = noise instanceof tf.Tensor ? noise : tf.tensor4d(noise, shape as [number, number, number, number]);
    return p ? (tf.add(p.mean, tf.mul(tf.exp(p.logs), e)) as tf.Tensor4D) : e;
  });
}
