// The gradient of a model's exact log-likelihood with respect to its input, by tfjs's autodiff
// on the calling thread (any backend with gradients), in batches so a memory bound holds.
import * as tf from '../tf.ts';
import type { FlowModel } from '../models/flow-model.ts';
import type { LogDensityGradient } from './langevin.ts';

/** What restoration needs of a model: its image shape and an exact, differentiable log p(x). */
export type RestoreModel = Pick<FlowModel, 'config' | 'logProb'>;

/** Images per forward and backward pass. */
const BATCH = 16;

/** ∇x log p(x) per image, for images of the model's shape in model space ([-0.5, 0.5]). */
export function logProbGradient(model: RestoreModel): LogDensityGradient {
  const { size, channels } = model.config;
  const per = size * size * channels;
  const grad = tf.grad((x: tf.Tensor) => tf.sum(model.logProb(x as tf.Tensor4D)));
  return async (x, n) => {
    const out = new Float32Array(n * per);
    for (let start = 0; start < n; start += BATCH) {
      const count = Math.min(BATCH, n - start);
      const g = tf.tidy(() => grad(tf.tensor4d(x.subarray(start * per, (start + count) * per), [count, size, size, channels])));
      try {
        out.set(await g.data(), start * per);
      } finally {
        g.dispose();
      }
    }
    return out;
  };
}
