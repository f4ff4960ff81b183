// Encoding and scoring on onnxruntime: the model's forward pass traced once per model and batch
// size into one graph (weights and the model's scoring noise as inputs), giving every level's
// latent and log p(x). Shorter batches are padded to the traced size and the padding's results dropped.
import * as tf from '../tf.ts';
import { scoringNoiseOf, type FlowModel } from '../models/flow-model.ts';
import type { OnnxGraph } from './onnx-proto.ts';
import { createSession, type Ort, type OrtSession } from './runtime.ts';
import { imagesShape, scoringFeeds, scoringPlaceholders, traceModelGraph, TracedSession } from './traced-session.ts';

/**
 * The graph from images `x` [batch, H, W, C], their scoring noise (`noise/i`, none for a flow)
 * and the weights to latents `z.<level>` and `logp` (nats per image).
 */
export function forwardGraph(model: FlowModel, batch: number): OnnxGraph {
  const x = tf.zeros(imagesShape(model, batch)) as tf.Tensor4D;
  const noise = scoringPlaceholders(model, batch);
  return traceModelGraph('flowdesk-forward', model, { x, ...noise.byName }, () => {
    const { zs, logdet, logpz } = model.forward(x, undefined, noise.tensors.length > 0 ? noise.tensors : undefined);
    const out: Record<string, tf.Tensor> = { logp: tf.add(logdet, logpz) };
    zs.forEach((z, i) => (out[`z.${i}`] = z));
    return out;
  });
}

export interface ForwardResult {
  /** Each level's latent for the n images: NHWC values and shape [n, H, W, C]. */
  zs: { values: Float32Array; shape: [number, number, number, number] }[];
  /** log p(x) per image, in nats. */
  logp: Float32Array;
}

export class OnnxForward extends TracedSession {
  private constructor(
    ort: Ort,
    session: OrtSession,
    model: FlowModel,
    /** Images per run, fixed by the trace. */
    readonly batch: number,
    private readonly levels: number,
  ) {
    super(ort, session, model);
  }

  static async create(ort: Ort, model: FlowModel, batch: number, threads?: number): Promise<OnnxForward> {
    const graph = forwardGraph(model, batch);
    const levels = graph.outputs.filter((o) => o.name.startsWith('z.')).length;
    return new OnnxForward(ort, await createSession(ort, graph, threads), model, batch, levels);
  }

  /**
   * Latents and log p(x) of the n <= batch images in `x`, with their scoring noise (n x values of
   * each kind; zeros where none is given, for encoding, whose latents do not depend on it).
   */
  async run(x: Float32Array, n: number, noise: readonly Float32Array[] = []): Promise<ForwardResult> {
    if (n > this.batch) throw new RangeError(`${n} images do not fit a forward graph for ${this.batch}`);
    const shape = imagesShape(this.model, this.batch);
    const per = tf.util.sizeFromShape(shape) / this.batch;
    const kinds = scoringNoiseOf(this.model);
    const padded = (values: Float32Array | undefined, width: number) => {
      const out = new Float32Array(this.batch * width);
      if (values) out.set(values.subarray(0, n * width));
      return out;
    };
    const input = n === this.batch ? x.subarray(0, n * per) : padded(x, per);
    const out = await this.execute({ x: [input, shape], ...scoringFeeds(this.model, this.batch, kinds.map((s, i) => padded(noise[i], s.values))) });
    const take = (values: Float32Array) => values.subarray(0, (values.length / this.batch) * n);
    return {
      zs: Array.from({ length: this.levels }, (_, i) => {
        const z = out[`z.${i}`];
        const [, h, w, c] = z.dims;
        return { values: take(z.data as Float32Array), shape: [n, h, w, c] as [number, number, number, number] };
      }),
      logp: take(out.logp.data as Float32Array),
    };
  }
}
