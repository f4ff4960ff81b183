// Decoding on onnxruntime: model.decode from every level's latent to images, traced once per
// model, batch size and latent shapes into one graph with the weights as inputs. Shorter
// batches are padded with zero latents and the padding's images dropped.
import * as tf from '../tf.ts';
import type { FlowModel } from '../models/flow-model.ts';
import type { OnnxGraph } from './onnx-proto.ts';
import { createSession, type Ort, type OrtSession } from './runtime.ts';
import { traceModelGraph, TracedSession } from './traced-session.ts';

/** Shape [H, W, C] of one level's latent, in encode's order. */
export type LatentShape = readonly [number, number, number];

/** The graph from latents `z.<level>` [batch, ...shapes[level]] and the weights to images `x`. */
export function decodingGraph(model: FlowModel, batch: number, shapes: readonly LatentShape[]): OnnxGraph {
  const zs = shapes.map(([h, w, c]) => tf.zeros([batch, h, w, c]) as tf.Tensor4D);
  return traceModelGraph('flowdesk-decode', model, Object.fromEntries(zs.map((z, i) => [`z.${i}`, z])), () => ({ x: model.decode(zs) }));
}

export class OnnxDecoder extends TracedSession {
  private constructor(
    ort: Ort,
    session: OrtSession,
    model: FlowModel,
    /** Images per run, fixed by the trace. */
    readonly batch: number,
    /** Latent shapes, fixed by the trace. */
    readonly shapes: readonly LatentShape[],
  ) {
    super(ort, session, model);
  }

  static async create(ort: Ort, model: FlowModel, batch: number, shapes: readonly LatentShape[], threads?: number): Promise<OnnxDecoder> {
    return new OnnxDecoder(ort, await createSession(ort, decodingGraph(model, batch, shapes), threads), model, batch, shapes);
  }

  /** The n <= batch images [n, H, W, C] for latents `zs[level]` holding n * H * W * C values each. */
  async decode(zs: readonly Float32Array[], n: number): Promise<Float32Array> {
    if (n > this.batch) throw new RangeError(`${n} images do not fit a decoding graph for ${this.batch}`);
    const inputs = Object.fromEntries(
      this.shapes.map(([h, w, c], i): [string, [Float32Array, number[]]] => {
        const padded = new Float32Array(this.batch * h * w * c);
        padded.set(zs[i].subarray(0, n * h * w * c));
        return [`z.${i}`, [padded, [this.batch, h, w, c]]];
      }),
    );
    const { x } = await this.execute(inputs);
    const values = x.data as Float32Array;
    return values.subarray(0, (values.length / this.batch) * n);
  }
}
