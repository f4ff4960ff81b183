// A model's weights as inputs of its traced graphs: declared by name for a trace, and fed with
// their current values on every run, so one graph serves every step and every checkpoint.
import type * as tf from '../tf.ts';
import type { FlowModel } from '../models/flow-model.ts';
import type { Ort } from './runtime.ts';

export type OrtTensor = InstanceType<Ort['Tensor']>;

/** Trainable variables and weight-derived tensors (ParamStore.derived) by name. */
export function weightInputs(model: FlowModel): Record<string, tf.Tensor> {
  const inputs: Record<string, tf.Tensor> = Object.fromEntries(model.params.variables);
  for (const [name, current] of model.params.derived) inputs[name] = current();
  return inputs;
}

/** The current values of the weights among `wanted` (a session's input names). */
export function weightFeeds(ort: Ort, model: FlowModel, wanted: readonly string[]): Record<string, OrtTensor> {
  const feeds: Record<string, OrtTensor> = {};
  // Each read only when a name is wanted: any takes back weights a training step holds (ParamStore.lendWeights).
  for (const name of wanted) {
    const t = model.params.variables.get(name) ?? model.params.derived.get(name)?.();
    if (t) feeds[name] = new ort.Tensor('float32', t.dataSync() as Float32Array, t.shape);
  }
  return feeds;
}
