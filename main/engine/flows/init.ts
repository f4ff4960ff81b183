// Seeded weight initialisers: drawn from the model's Rng in JS, so a seed gives the same
// starting weights on every backend.
import * as tf from '../tf.ts';
import type { Rng } from '../random.ts';

/** Normal weights with standard deviation `std`. */
export function gaussianWeights(shape: number[], std: number, rng: Rng): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(rng.fillNormal(new Float32Array(size), std), shape);
}

/** He-normal weights (std sqrt(2 / fanIn)), right for layers followed by ReLU. */
export function heNormal(shape: number[], fanIn: number, rng: Rng): tf.Tensor {
  return gaussianWeights(shape, Math.sqrt(2 / fanIn), rng);
}
