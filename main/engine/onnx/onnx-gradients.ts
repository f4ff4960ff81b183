// Training steps on onnxruntime: a model's loss and gradients are traced once into one ONNX
// graph for a batch size, then run natively every step with the current weights as inputs.
// Weights and the optimizer stay in TensorFlow.js, so checkpoints and the rest are unchanged.
import * as tf from '../tf.ts';
import { bitsPerDim, type FlowModel } from '../models/flow-model.ts';
import type { StepGradients } from '../train/gradients.ts';
import { createSession, type Ort, type OrtSession } from './runtime.ts';
import { weightFeeds, weightInputs } from './model-weights.ts';
import { traceToOnnx } from './trace-backend.ts';
import type { OnnxGraph } from './onnx-proto.ts';

const GRAD_PREFIX = 'grad:';

/** The graph from a batch `x` [batch, H, W, C] and every trainable variable to `loss` (mean bits per dim) and `grad:<param>`. */
export function trainingGraph(model: FlowModel, batch: number, nBits: number): OnnxGraph {
  const { size, channels } = model.config;
  const names = [...model.params.variables.keys()];
  const vars = [...model.params.variables.values()];
  const x = tf.zeros([batch, size, size, channels]) as tf.Tensor4D;
  try {
    return traceToOnnx('flowdesk-train', { x, ...weightInputs(model) }, () => {
      const { value, grads } = tf.variableGrads(() => tf.mean(bitsPerDim(model, x, nBits)) as tf.Scalar, vars);
      const out: Record<string, tf.Tensor> = { loss: value };
      vars.forEach((v, i) => (out[GRAD_PREFIX + names[i]] = grads[v.name]));
      return out;
    });
  } finally {
    x.dispose();
  }
}

export class OnnxGradients {
  private constructor(
    private readonly ort: Ort,
    private readonly session: OrtSession,
    private readonly model: FlowModel,
    /** Images per step, fixed by the trace. */
    readonly batch: number,
  ) {}

  /** Traces `model` at this batch size and opens its session; `threads` defaults to every core. */
  static async create(ort: Ort, model: FlowModel, batch: number, nBits: number, threads?: number): Promise<OnnxGradients> {
    const session = await createSession(ort, trainingGraph(model, batch, nBits), threads);
    return new OnnxGradients(ort, session, model, batch);
  }

  /** Mean bits per dim of the `batch` images in `data` and its gradients, as tensors the caller disposes. */
  async gradients(data: Float32Array): Promise<StepGradients> {
    const { size, channels } = this.model.config;
    const feeds = weightFeeds(this.ort, this.model, this.session.inputNames);
    feeds.x = new this.ort.Tensor('float32', data.subarray(0, this.batch * size * size * channels), [this.batch, size, size, channels]);
    const results = await this.session.run(feeds);
    const grads: Record<string, tf.Tensor> = {};
    for (const [name, v] of this.model.params.variables) grads[name] = tf.tensor(results[GRAD_PREFIX + name].data as Float32Array, v.shape);
    return { loss: (results.loss.data as Float32Array)[0], grads };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
