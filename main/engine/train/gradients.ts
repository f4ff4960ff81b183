// One training step's loss and gradients, computed in micro-batches whose gradients are summed:
// the wasm heap tops out near 2 GB, and a large Glow at batch 32 keeps more activations than
// that for its backward pass. The result equals one full-batch pass up to float rounding.
import * as tf from '../tf.ts';
import { netOutputsPerValue } from '../flows/coupling.ts';
import { tarflowBytesPerImage, tarflowForwardMacs } from '../flows/tarflow/tarflow-size.ts';
import type { ResolvedModelConfig } from '../models/config.ts';
import { observedChannelsOf } from '../models/restore-conditional.ts';
import { unetActivations, unetMacs } from '../models/unet-velocity.ts';
import { stepInputsOf, trainingLoss, type FlowModel } from '../models/flow-model.ts';

/** Activation memory one forward pass may keep for backprop, in bytes. */
const ACTIVATION_BUDGET = 400e6;
/** Measured ratio of kept activations to the coupling-net estimate below. */
const OVERHEAD = 1.8;

/**
 * Bytes a spline coupling keeps for backprop per value it maps: its per-bin tensors dominate.
 * Measured on tfjs cpu (a channel coupling, hidden 16, K = 4, 8, 16 bins): about 440 + 260 K.
 */
function splineBytesPerValue(bins: number): number {
  return 440 + 260 * bins;
}

/** Rough bytes of activations kept per image: the coupling nets' hidden maps dominate, and a spline's bins. */
function bytesPerImage(c: ResolvedModelConfig): number {
  if (c.kind === 'flow-matching') return unetActivations(c) * 4 * OVERHEAD;
  if (c.kind === 'nice') return 4 * c.depth * (c.mlpLayers + 1) * c.hidden * 4 * OVERHEAD;
  if (c.kind === 'tarflow') return tarflowBytesPerImage(c);
  const splineBytes = c.coupling === 'spline' ? splineBytesPerValue(c.bins) : 0;
  let side = c.size;
  let values = c.size * c.size * c.channels;
  let total = 0;
  let mapped = 0;
  for (let level = 0; level < c.levels; level++) {
    const last = level === c.levels - 1;
    if (c.kind === 'glow' || !last) side /= 2;
    const couplings = c.kind === 'glow' ? c.depth : 2 * c.depth;
    total += side * side * c.hidden * 6 * 4 * couplings;
    // Glow's couplings map half the level's values; RealNVP's checkerboard ones run the spline on all of them.
    mapped += c.kind === 'glow' ? (c.depth * values) / 2 : (last ? c.depth + 1 : c.depth) * values + (last ? 0 : (c.depth * values) / 2);
    values /= 2;
  }
  return total * OVERHEAD + mapped * splineBytes;
}

/**
 * Multiply-adds of one image's forward pass through the coupling networks (they dominate the
 * cost): each conv weight is used once per pixel of its level, each MLP weight once; TarFlow's
 * Transformers, counted in their own module.
 */
export function forwardMacsPerImage(c: ResolvedModelConfig): number {
  if (c.kind === 'tarflow') return tarflowForwardMacs(c);
  if (c.kind === 'flow-matching') return unetMacs(c);
  if (c.kind === 'nice') {
    const half = (c.size * c.size * c.channels) / 2;
    return c.depth * (2 * half * c.hidden + (c.mlpLayers - 1) * c.hidden * c.hidden);
  }
  const perValue = netOutputsPerValue(c);
  // A restoration model's networks also see the observation's features (its small encoder is not counted).
  const observed = observedChannelsOf(c);
  // A network from `condition` channels that gives its numbers for `transformed` channels.
  const net = (condition: number, transformed: number) => 9 * (condition + observed) * c.hidden + c.hidden * c.hidden + 9 * c.hidden * perValue * transformed;
  let side = c.size;
  let channels = c.channels;
  let total = 0;
  for (let level = 0; level < c.levels; level++) {
    const last = level === c.levels - 1;
    if (c.kind === 'realnvp') {
      // Checkerboard couplings see every channel and map every channel.
      total += (last ? c.depth + 1 : c.depth) * side * side * net(channels, channels);
      if (last) break;
    }
    side /= 2;
    channels *= 4;
    total += c.depth * side * side * net(channels / 2, channels / 2);
    if (!last) channels /= 2;
  }
  return total;
}

/** Largest micro-batch (a divisor-free cap) whose activations fit the budget; at least 1. */
export function autoMicroBatch(config: ResolvedModelConfig, batch: number): number {
  return Math.max(1, Math.min(batch, Math.floor(ACTIVATION_BUDGET / bytesPerImage(config))));
}

export interface StepGradients {
  /** Mean training loss of the batch: bits per dim, or the model's objective. */
  loss: number;
  /** Gradients of the mean loss, keyed by parameter name; the caller disposes them. */
  grads: Record<string, tf.Tensor>;
}

/**
 * Loss and gradients of the mean training loss (bits per dim, or the model's objective) over
 * `total` images, from the `batch` images in `data` (all of them unless a data-parallel share)
 * and their step inputs (`inputs[i]`: batch x stepInputsOf(model)[i].values: training noise, a
 * conditional model's classes), in near-equal passes of at most `microBatch`.
 */
export function batchGradients(model: FlowModel, data: Float32Array, batch: number, nBits: number, microBatch: number, total = batch, inputs: readonly Float32Array[] = []): StepGradients {
  const { size, channels } = model.config;
  const per = size * size * channels;
  const inputValues = stepInputsOf(model).map((s) => s.values);
  const names = [...model.params.variables.keys()];
  const vars = [...model.params.variables.values()];
  const nameOf = new Map(vars.map((v, i) => [v.name, names[i]]));
  const passes = Math.ceil(batch / Math.max(1, microBatch));
  let loss = 0;
  let sum: Record<string, tf.Tensor> | null = null;
  for (let pass = 0, start = 0; pass < passes; pass++) {
    const n = Math.floor((batch * (pass + 1)) / passes) - start;
    const x = tf.tensor4d(data.subarray(start * per, (start + n) * per), [n, size, size, channels]);
    const extra = inputValues.map((v, i) => tf.tensor2d(inputs[i].subarray(start * v, (start + n) * v), [n, v]));
    // The pass's share of the mean, weighted before backprop: its gradients need no rescaling.
    const weight = n / total;
    const { value, grads } = tf.variableGrads(() => tf.mul(tf.mean(trainingLoss(model, x, extra, nBits)), weight) as tf.Scalar, vars);
    loss += value.dataSync()[0];
    tf.dispose([x, ...extra, value]);
    const named: Record<string, tf.Tensor> = {};
    for (const [k, g] of Object.entries(grads)) named[nameOf.get(k)!] = g;
    if (sum) {
      const previous: Record<string, tf.Tensor> = sum;
      sum = Object.fromEntries(Object.entries(named).map(([name, g]) => [name, tf.add(previous[name], g)]));
      tf.dispose([...Object.values(previous), ...Object.values(named)]);
    } else {
      sum = named;
    }
    start += n;
  }
  return { loss, grads: sum ?? {} };
}
