// Training steps on onnxruntime: a model's loss and gradients are traced once into one ONNX
// graph for a batch size, then run natively every step with the current weights as inputs.
// Weights and the optimizer stay in TensorFlow.js, so checkpoints and the rest are unchanged.
import * as tf from '../tf.ts';
import { trainingLoss, type FlowModel } from '../models/flow-model.ts';
import type { StepGradients } from '../train/gradients.ts';
import type { OnnxGraph } from './onnx-proto.ts';
import { createSession, type Ort, type OrtSession } from './runtime.ts';
import { imagesShape, stepInputFeeds, stepInputPlaceholders, traceModelGraph, TracedSession } from './traced-session.ts';

const GRAD_PREFIX = 'grad:';

/**
 * The graph from a batch `x` [batch, H, W, C], its step inputs (`noise/i` and `classes`, none for an unconditional flow)
 * and every trainable variable to `loss` (the mean training loss) and `grad:<param>`.
 */
export function trainingGraph(model: FlowModel, batch: number, nBits: number): OnnxGraph {
  const names = [...model.params.variables.keys()];
  const vars = [...model.params.variables.values()];
  const x = tf.zeros(imagesShape(model, batch)) as tf.Tensor4D;
  const inputs = stepInputPlaceholders(model, batch);
  return traceModelGraph('flowdesk-train', model, { x, ...inputs.byName }, () => {
    const { value, grads } = tf.variableGrads(() => tf.mean(trainingLoss(model, x, inputs.tensors, nBits)) as tf.Scalar, vars);
    const out: Record<string, tf.Tensor> = { loss: value };
    vars.forEach((v, i) => (out[GRAD_PREFIX + names[i]] = grads[v.name]));
    return out;
  });
}

export class OnnxGradients extends TracedSession {
  private constructor(
    ort: Ort,
    session: OrtSession,
    model: FlowModel,
    /** Images per step, fixed by the trace. */
    readonly batch: number,
  ) {
    super(ort, session, model);
  }

  /** Traces `model` at this batch size and opens its session; `threads` defaults to every core. */
  static async create(ort: Ort, model: FlowModel, batch: number, nBits: number, threads?: number): Promise<OnnxGradients> {
    const session = await createSession(ort, trainingGraph(model, batch, nBits), threads);
    return new OnnxGradients(ort, session, model, batch);
  }

  /** The mean training loss of the `batch` images in `data` (with their step inputs: training noise, classes) and its gradients, as tensors the caller disposes. */
  async gradients(data: Float32Array, inputs: readonly Float32Array[] = []): Promise<StepGradients> {
    const shape = imagesShape(this.model, this.batch);
    const results = await this.execute({ x: [data.subarray(0, tf.util.sizeFromShape(shape)), shape], ...stepInputFeeds(this.model, this.batch, inputs) });
    const grads: Record<string, tf.Tensor> = {};
    for (const [name, v] of this.model.params.variables) grads[name] = tf.tensor(results[GRAD_PREFIX + name].data as Float32Array, v.shape);
    return { loss: (results.loss.data as Float32Array)[0], grads };
  }
}
