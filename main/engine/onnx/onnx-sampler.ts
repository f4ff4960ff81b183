// Sampling on onnxruntime: decoding from given noise, traced once per model and image count
// into one graph with the weights as inputs, so it stays valid as training changes them.
import * as tf from '../tf.ts';
import type { FlowModel } from '../models/flow-model.ts';
import { weightFeeds, weightInputs } from './model-weights.ts';
import type { OnnxGraph } from './onnx-proto.ts';
import { createSession, type Ort, type OrtSession } from './runtime.ts';
import { traceToOnnx } from './trace-backend.ts';

/** The graph from the noise `noise.<i>` [n, ...noiseShapes[i]] and the weights to images `x`. */
export function samplingGraph(model: FlowModel, n: number): OnnxGraph {
  const noise = model.noiseShapes.map(([h, w, c]) => tf.zeros([n, h, w, c]) as tf.Tensor4D);
  try {
    const inputs: Record<string, tf.Tensor> = { ...weightInputs(model) };
    noise.forEach((t, i) => (inputs[`noise.${i}`] = t));
    return traceToOnnx('flowdesk-sample', inputs, () => ({ x: model.sampleFromNoise(noise, n) }));
  } finally {
    tf.dispose(noise);
  }
}

export class OnnxSampler {
  private constructor(
    private readonly ort: Ort,
    private readonly session: OrtSession,
    private readonly model: FlowModel,
    /** Images per call, fixed by the trace. */
    readonly n: number,
  ) {}

  static async create(ort: Ort, model: FlowModel, n: number, threads?: number): Promise<OnnxSampler> {
    return new OnnxSampler(ort, await createSession(ort, samplingGraph(model, n), threads), model, n);
  }

  /** The images [n, H, W, C] in model space for `noise` as drawNoise gives it (temperature applied). */
  async sample(noise: readonly Float32Array[]): Promise<Float32Array> {
    const feeds = weightFeeds(this.ort, this.model, this.session.inputNames);
    this.model.noiseShapes.forEach(([h, w, c], i) => (feeds[`noise.${i}`] = new this.ort.Tensor('float32', noise[i], [this.n, h, w, c])));
    const { x } = await this.session.run(feeds);
    return x.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
