// Sampling on onnxruntime: decoding from given noise, traced once per model and image count
// into one graph with the weights as inputs, so it stays valid as training changes them.
import * as tf from '../tf.ts';
import type { FlowModel } from '../models/flow-model.ts';
import type { OnnxGraph } from './onnx-proto.ts';
import { createSession, type Ort, type OrtSession } from './runtime.ts';
import { traceModelGraph, TracedSession } from './traced-session.ts';

/** The graph from the noise `noise.<i>` [n, ...noiseShapes[i]] and the weights to images `x`. */
export function samplingGraph(model: FlowModel, n: number): OnnxGraph {
  const noise = model.noiseShapes.map(([h, w, c]) => tf.zeros([n, h, w, c]) as tf.Tensor4D);
  return traceModelGraph('flowdesk-sample', model, Object.fromEntries(noise.map((t, i) => [`noise.${i}`, t])), () => ({ x: model.sampleFromNoise(noise, n) }));
}

export class OnnxSampler extends TracedSession {
  private constructor(
    ort: Ort,
    session: OrtSession,
    model: FlowModel,
    /** Images per call, fixed by the trace. */
    readonly n: number,
  ) {
    super(ort, session, model);
  }

  static async create(ort: Ort, model: FlowModel, n: number, threads?: number): Promise<OnnxSampler> {
    return new OnnxSampler(ort, await createSession(ort, samplingGraph(model, n), threads), model, n);
  }

  /** The images [n, H, W, C] in model space for `noise` as drawNoise gives it (temperature applied). */
  async sample(noise: readonly Float32Array[]): Promise<Float32Array> {
    const { x } = await this.execute(Object.fromEntries(this.model.noiseShapes.map(([h, w, c], i) => [`noise.${i}`, [noise[i], [this.n, h, w, c]]])));
    return x.data as Float32Array;
  }
}
