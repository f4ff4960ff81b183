// A model's computation traced once into an ONNX graph and opened as an onnxruntime session,
// then run with the model's current weights as inputs, so it stays valid as training changes
// them. The training step, the sampler and the forward pass build on it with their own inputs.
import * as tf from '../tf.ts';
import { scoringNoiseOf, stepInputsOf, type FlowModel, type StepInput } from '../models/flow-model.ts';
import { weightFeeds, weightInputs, type OrtTensor } from './model-weights.ts';
import type { OnnxGraph } from './onnx-proto.ts';
import type { Ort, OrtSession } from './runtime.ts';
import { traceToOnnx } from './trace-backend.ts';

/** The NHWC shape of `n` of the model's images. */
export function imagesShape(model: FlowModel, n: number): [number, number, number, number] {
  const { size, channels } = model.config;
  return [n, size, size, channels];
}

/** Zeros standing for a graph's per-image inputs, by input name, and the same tensors in order. */
function inputPlaceholders(inputs: readonly StepInput[], batch: number): { byName: Record<string, tf.Tensor>; tensors: tf.Tensor2D[] } {
  const tensors = inputs.map((s) => tf.zeros([batch, s.values]) as tf.Tensor2D);
  return { byName: Object.fromEntries(tensors.map((t, i) => [inputs[i].name, t])), tensors };
}

/** Per-image inputs as the graph's inputs: `batch` images' values of each. */
function inputFeeds(inputs: readonly StepInput[], batch: number, values: readonly Float32Array[]): Record<string, [Float32Array, number[]]> {
  return Object.fromEntries(inputs.map((s, i) => [s.name, [values[i].subarray(0, batch * s.values), [batch, s.values]]]));
}

/** A forward pass's per-image inputs: the model's scoring noise (FlowModel.scoringNoise), `noise/i`. */
function scoringInputsOf(model: FlowModel): StepInput[] {
  return scoringNoiseOf(model).map((s, i) => ({ name: `noise/${i}`, values: s.values }));
}

/**
 * Zeros standing for a training step's per-image inputs (flow-model.ts' stepInputsOf: `noise/i`,
 * then `classes` for a conditional model; none for an unconditional flow), by input name, and the same tensors in order.
 */
export function stepInputPlaceholders(model: FlowModel, batch: number): { byName: Record<string, tf.Tensor>; tensors: tf.Tensor2D[] } {
  return inputPlaceholders(stepInputsOf(model), batch);
}

/** A step's per-image inputs as the graph's inputs: `batch` images' values of each kind. */
export function stepInputFeeds(model: FlowModel, batch: number, inputs: readonly Float32Array[]): Record<string, [Float32Array, number[]]> {
  return inputFeeds(stepInputsOf(model), batch, inputs);
}

/** Zeros standing for a forward pass's scoring noise (none for a flow), as stepInputPlaceholders. */
export function scoringPlaceholders(model: FlowModel, batch: number): { byName: Record<string, tf.Tensor>; tensors: tf.Tensor2D[] } {
  return inputPlaceholders(scoringInputsOf(model), batch);
}

/** `batch` images' scoring noise as a forward graph's inputs. */
export function scoringFeeds(model: FlowModel, batch: number, noise: readonly Float32Array[]): Record<string, [Float32Array, number[]]> {
  return inputFeeds(scoringInputsOf(model), batch, noise);
}

/**
 * The graph of `run` with the model's weights and `placeholders` (zeros shaped as the graph's
 * own inputs, which `run` reads) as inputs. The placeholders are disposed.
 */
export function traceModelGraph(name: string, model: FlowModel, placeholders: Record<string, tf.Tensor>, run: () => Record<string, tf.Tensor>): OnnxGraph {
  try {
    return traceToOnnx(name, { ...placeholders, ...weightInputs(model) }, run);
  } finally {
    tf.dispose(Object.values(placeholders));
  }
}

export abstract class TracedSession {
  protected constructor(
    protected readonly ort: Ort,
    private readonly session: OrtSession,
    protected readonly model: FlowModel,
  ) {}

  /**
   * The graph's outputs for `inputs` (onnxruntime tensors, or float32 values and shape, by input
   * name) and the current weights, read from tfjs unless `inputs` names them; `fetches` are
   * tensors the named outputs are written into.
   */
  protected execute(inputs: Record<string, OrtTensor | [Float32Array, readonly number[]]>, fetches: Record<string, OrtTensor> = {}): ReturnType<OrtSession['run']> {
    const feeds = weightFeeds(this.ort, this.model, this.session.inputNames.filter((name) => !Object.hasOwn(inputs, name)));
    for (const [name, value] of Object.entries(inputs)) feeds[name] = Array.isArray(value) ? new this.ort.Tensor('float32', value[0], value[1]) : value;
    if (Object.keys(fetches).length === 0) return this.session.run(feeds);
    // Every output is fetched: those without a tensor of their own are allocated by onnxruntime.
    const all: Record<string, OrtTensor | null> = Object.fromEntries(this.session.outputNames.map((name) => [name, fetches[name] ?? null]));
    return this.session.run(feeds, all as Parameters<OrtSession['run']>[1]);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
