// A Lab model whose optimum is known in closed form, for tests of the machinery around families
// (trainer, frames, persistence): one elementwise affine layer, z = (x - μ) / σ, μ and log σ learned.
import * as tf from '../../main/engine/tf.ts';
import type { ParamStore } from '../../main/engine/flows/params.ts';
import { LayerStack } from '../../main/engine/lab/layer-stack.ts';
import type { VectorLayer } from '../../main/engine/lab/vector-layer.ts';
import { labSettings } from './lab-settings.ts';

/** Starts as the identity (μ = 0, σ = 1): its density is the standard normal until trained. */
export function gaussianModel(store: ParamStore): LayerStack {
  const mu = store.scope('g').variable('mu', tf.zeros([2]));
  const logSigma = store.scope('g').variable('log_sigma', tf.zeros([2]));
  const perRow = (x: tf.Tensor2D, v: tf.Tensor) => tf.mul(tf.ones([x.shape[0]]), v) as tf.Tensor1D;
  const layer: VectorLayer = {
    forward: (x) => tf.tidy(() => ({ out: tf.div(tf.sub(x, mu), tf.exp(logSigma)) as tf.Tensor2D, logDet: perRow(x, tf.neg(tf.sum(logSigma))) })),
    inverse: (z) => tf.tidy(() => ({ out: tf.add(tf.mul(z, tf.exp(logSigma)), mu) as tf.Tensor2D, logDet: perRow(z, tf.sum(logSigma)) })),
  };
  return new LayerStack('realnvp', 2, labSettings(), store, [layer]);
}
