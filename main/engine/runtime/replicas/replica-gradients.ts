// Data-parallel gradients: the batch is split across the model's replica threads (one wasm
// instance each), every share runs batchGradients, and the weighted gradients are summed through
// shared memory. Equals the one-thread result up to float rounding; one thread is that result.
import * as tf from '../../tf.ts';
import type { ResolvedModelConfig } from '../../models/config.ts';
import { batchGradients, forwardMacsPerImage, type StepGradients } from '../../train/gradients.ts';
import { stepInputsOf, type FlowModel } from '../../models/flow-model.ts';
import { defaultThreads, ModelReplicas, splitShares, type Share } from './model-replicas.ts';

/**
 * Forward multiply-adds a share of the batch needs before a second thread pays: measured on two
 * cores, a small Glow at 16x16 (about 40 M per share) steps 1.4x faster on two threads, a toy one
 * (under 1 M) 1.6x slower, its work too small for the per-step copies and waits.
 */
const MIN_SHARE_MACS = 10e6;

/**
 * Threads a step is split across: `threads` when given, else min(2, cores) when each share of
 * the batch is enough work to gain from it, else 1. Depends only on the settings and the machine,
 * so a resumed run splits (and rounds) as the uninterrupted one did.
 */
export function stepThreads(config: ResolvedModelConfig, batch: number, threads: number | null): number {
  if (threads !== null) return threads;
  const parts = defaultThreads();
  return parts > 1 && forwardMacsPerImage(config) * Math.floor(batch / parts) >= MIN_SHARE_MACS ? parts : 1;
}

/**
 * Loss and gradients of the mean training loss of `batch` images (and their step inputs) over
 * `threads` threads in all, the calling one included; each share runs in passes of at most `microBatch` images.
 */
export function parallelGradients(model: FlowModel, data: Float32Array, batch: number, nBits: number, microBatch: number, threads: number, inputs: readonly Float32Array[] = []): StepGradients {
  const replicas = ModelReplicas.for(model, threads);
  if (!replicas) return batchGradients(model, data, batch, nBits, microBatch, batch, inputs);
  const { size, channels } = model.config;
  const per = size * size * channels;
  const inputValues = stepInputsOf(model).map((s) => s.values);
  // Copies, not views: a posted view would carry its whole buffer.
  const inputsOf = (s: Share) => inputValues.map((v, i) => inputs[i].slice(s.start * v, (s.start + s.count) * v));
  const shares = splitShares(batch, replicas.size);
  const slots = replicas.variableSlots;
  const length = slots.reduce((n, s) => n + s.size, 0);
  const changed = replicas.prepare();
  const commands = shares.slice(1).map((s, i) =>
    replicas.command(i, { op: 'gradients', count: s.count, total: batch, nBits, microBatch, inputs: inputsOf(s), input: replicas.input(i, data.subarray(s.start * per, (s.start + s.count) * per)) }, length, changed),
  );
  const { own, replies } = replicas.run(commands, () => batchGradients(model, data.subarray(0, shares[0].count * per), shares[0].count, nBits, microBatch, batch, inputsOf(shares[0])));
  if (commands.length === 0) return own;
  let loss = own.loss;
  for (const r of replies) if (r?.ok) loss += r.loss ?? 0;
  const grads: Record<string, tf.Tensor> = {};
  tf.tidy(() => {
    for (const slot of slots) {
      let g = own.grads[slot.name];
      for (const c of commands) g = tf.add(g, tf.tensor(c.output.subarray(slot.offset, slot.offset + slot.size).slice(), slot.shape));
      grads[slot.name] = tf.keep(g);
    }
  });
  tf.dispose(Object.values(own.grads));
  return { loss, grads };
}
