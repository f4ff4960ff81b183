// One training step's loss and gradients, computed in micro-batches whose gradients are summed:
// the wasm heap tops out near 2 GB, and a large Glow at batch 32 keeps more activations than
// that for its backward pass. The result equals one full-batch pass up to float rounding.
import * as tf from '../tf.ts';
import type { ResolvedModelConfig } from '../models/config.ts';
import { bitsPerDim, type FlowModel } from '../models/flow-model.ts';

/** Activation memory one forward pass may keep for backprop, in bytes. */
const ACTIVATION_BUDGET = 400e6;
/** Measured ratio of kept activations to the coupling-net estimate below. */
const OVERHEAD = 1.8;

/** Rough bytes of activations kept per image: the coupling nets' hidden maps dominate. */
function bytesPerImage(c: ResolvedModelConfig): number {
  if (c.kind === 'nice') return 4 * c.depth * (c.mlpLayers + 1) * c.hidden * 4 * OVERHEAD;
  let side = c.size;
  let total = 0;
  for (let level = 0; level < c.levels; level++) {
    if (c.kind === 'glow' || level < c.levels - 1) side /= 2;
    const couplings = c.kind === 'glow' ? c.depth : 2 * c.depth;
    total += side * side * c.hidden * 6 * 4 * couplings;
  }
  return total * OVERHEAD;
}

/** Largest micro-batch (a divisor-free cap) whose activations fit the budget; at least 1. */
export function autoMicroBatch(config: ResolvedModelConfig, batch: number): number {
  return Math.max(1, Math.min(batch, Math.floor(ACTIVATION_BUDGET / bytesPerImage(config))));
}

export interface StepGradients {
  /** Mean bits per dim of the batch. */
  loss: number;
  /** Gradients of the mean loss, keyed by parameter name; the caller disposes them. */
  grads: Record<string, tf.Tensor>;
}

export function batchGradients(model: FlowModel, data: Float32Array, batch: number, nBits: number, microBatch: number): StepGradients {
  const { size, channels } = model.config;
  const per = size * size * channels;
  const names = [...model.params.variables.keys()];
  const vars = [...model.params.variables.values()];
  const nameOf = new Map(vars.map((v, i) => [v.name, names[i]]));
  let loss = 0;
  let sum: Record<string, tf.Tensor> = {};
  for (let start = 0; start < batch; start += microBatch) {
    const n = Math.min(microBatch, batch - start);
    const weight = n / batch;
    const x = tf.tensor4d(data.subarray(start * per, (start + n) * per), [n, size, size, channels]);
    const { value, grads } = tf.variableGrads(() => tf.mean(bitsPerDim(model, x, nBits)) as tf.Scalar, vars);
    loss += value.dataSync()[0] * weight;
    const next: Record<string, tf.Tensor> = {};
    for (const [k, g] of Object.entries(grads)) {
      const name = nameOf.get(k)!;
      next[name] = tf.tidy(() => (sum[name] ? tf.add(sum[name], tf.mul(g, weight)) : weight === 1 ? tf.clone(g) : tf.mul(g, weight)));
    }
    tf.dispose([x, value, ...Object.values(grads), ...Object.values(sum)]);
    sum = next;
  }
  return { loss, grads: sum };
}
