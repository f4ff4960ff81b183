// The runtime of the 'onnx' backend: training steps (optimizer update included), sampling, encoding, scoring and decoding as
// onnxruntime sessions of the model's traced graphs (weights are inputs, so a session stays valid
// as training changes them). Batches too small to gain from a padded native run go to `small`, and
// so does the inference of a model whose inference does not trace (an ODE's, FlowModel.inferenceTraces).
import { availableParallelism } from 'node:os';
import * as tf from '../tf.ts';
import { marginalOverClasses } from '../models/class-marginal.ts';
import { drawNoise, type FlowModel } from '../models/flow-model.ts';
import { BackendError } from '../errors.ts';
import { TraceError } from '../onnx/graph-builder.ts';
import { OnnxDecoder } from '../onnx/onnx-decoder.ts';
import { OnnxForward } from '../onnx/onnx-forward.ts';
import { OnnxSampler } from '../onnx/onnx-sampler.ts';
import { OnnxUpdate } from '../onnx/onnx-update.ts';
import type { Ort } from '../onnx/runtime.ts';
import type { Rng } from '../random.ts';
import type { ComputeRuntime, TrainingStep, TrainingStepOptions } from './compute-runtime.ts';
import { shareRows } from './replicas/model-replicas.ts';

/** Images per forward, decoding or sampling run on onnxruntime unless the model asks for fewer (FlowModel.inferenceBatch); shorter batches are padded to it. */
const NATIVE_BATCH = 64;
/** Fewer images than this encode and decode faster on tfjs than padded to a native batch. */
const MIN_NATIVE_IMAGES = 16;

interface Released {
  dispose(): Promise<void>;
}

export class OnnxRuntime implements ComputeRuntime {
  readonly kind = 'onnx';
  /** Sessions by job; each is traced on first use. */
  private readonly samplers = new Map<number, Promise<OnnxSampler>>();
  private forward: Promise<OnnxForward> | null = null;
  private decoder: Promise<OnnxDecoder> | null = null;

  /** `threads`: onnxruntime's threads per session, null for every core. */
  constructor(
    readonly model: FlowModel,
    private readonly ort: Ort,
    private readonly threads: number | null,
    private readonly small: ComputeRuntime,
  ) {}

  async trainingStep({ batch, nBits, optimizer }: TrainingStepOptions): Promise<TrainingStep> {
    const session = await OnnxUpdate.create(this.ort, this.model, batch, nBits, optimizer, this.threads ?? undefined).catch((err: unknown) => {
      if (!(err instanceof TraceError)) throw err;
      throw new BackendError('BACKEND_UNAVAILABLE', `The onnx backend cannot trace a ${this.model.config.kind} training step: ${err.message}. Train it on the wasm backend (--backend wasm) instead.`);
    });
    return {
      // createSession's default when none is given: every core.
      threads: this.threads ?? availableParallelism(),
      update: (data, inputs) => session.update(data, inputs),
      dispose: () => session.dispose(),
    };
  }

  /** Images per traced inference run. */
  private get batch(): number {
    return this.model.inferenceBatch ?? NATIVE_BATCH;
  }

  /** Whether `n` images of inference run on onnxruntime rather than on `small`. */
  private native(n: number): boolean {
    return n >= Math.min(MIN_NATIVE_IMAGES, this.batch) && this.model.inferenceTraces !== false;
  }

  /** A conditional model's class rows (and guidance) are not inputs of the traced sampler: they sample on `small`. */
  async sample(n: number, temperature: number, rng: Rng, classes?: Float32Array, guidance?: number): Promise<Float32Array> {
    if (this.model.inferenceTraces === false || classes) return this.small.sample(n, temperature, rng, classes, guidance);
    const noise = drawNoise(this.model, n, temperature, rng);
    if (n <= this.batch) return (await this.sampler(n)).sample(noise);
    // In runs of at most a batch, each from its share of the same noise.
    const { size, channels } = this.model.config;
    const per = size * size * channels;
    const out = new Float32Array(n * per);
    for (let start = 0; start < n; start += this.batch) {
      const count = Math.min(this.batch, n - start);
      out.set(await (await this.sampler(count)).sample(shareRows(noise, n, { start, count })), start * per);
    }
    return out;
  }

  /** The sampling session for `n` images, traced on first use. */
  private sampler(n: number): Promise<OnnxSampler> {
    let sampler = this.samplers.get(n);
    if (!sampler) this.samplers.set(n, (sampler = OnnxSampler.create(this.ort, this.model, n, this.threads ?? undefined)));
    return sampler;
  }

  /** A model whose encode is not the traced forward pass's latents (FlowModel.encodeTraces: a restoration model) encodes on `small`. */
  async encode(x: Float32Array, n: number): Promise<tf.Tensor4D[]> {
    if (!this.native(n) || this.model.encodeTraces === false) return this.small.encode(x, n);
    const parts: tf.Tensor4D[][] = [];
    await this.forwardRuns(x, n, ({ zs }) => parts.push(zs.map((z) => tf.tensor4d(z.values, z.shape))));
    if (parts.length === 1) return parts[0];
    const joined = parts[0].map((_, level) => tf.concat(parts.map((p) => p[level]), 0) as tf.Tensor4D);
    tf.dispose(parts.flat());
    return joined;
  }

  async bitsPerDim(x: Float32Array, n: number, nBits: number, noise: readonly Float32Array[] = [], classes?: Float32Array): Promise<Float32Array> {
    // Classes are no input of the traced forward pass, nor is a sum over them its one prior; a
    // conditional model's unconditional branch (flow matching's p(x)) is that pass, with no class.
    if (!this.native(n) || classes || marginalOverClasses(this.model)) return this.small.bitsPerDim(x, n, nBits, noise, classes);
    const { size, channels } = this.model.config;
    const dims = size * size * channels;
    const out = new Float32Array(n);
    await this.forwardRuns(
      x,
      n,
      ({ logp }, start) => {
        for (let i = 0; i < logp.length; i++) out[start + i] = logp[i] / (-dims * Math.LN2) + nBits;
      },
      noise,
    );
    return out;
  }

  /** On `small`: the traced forward pass scores one prior, not one per class. */
  classLogProbs(x: Float32Array, n: number): Promise<Float32Array> {
    return this.small.classLogProbs(x, n);
  }

  /** The forward session over the n images of `x` (and their scoring noise), one native batch at a time. */
  private async forwardRuns(x: Float32Array, n: number, take: (r: Awaited<ReturnType<OnnxForward['run']>>, start: number) => void, noise: readonly Float32Array[] = []): Promise<void> {
    this.forward ??= OnnxForward.create(this.ort, this.model, this.batch, this.threads ?? undefined);
    const f = await this.forward;
    const { size, channels } = this.model.config;
    const per = size * size * channels;
    for (let start = 0; start < n; start += f.batch) {
      const count = Math.min(f.batch, n - start);
      take(await f.run(x.subarray(start * per, (start + count) * per), count, shareRows(noise, n, { start, count })), start);
    }
  }

  async decode(zs: tf.Tensor4D[]): Promise<Float32Array> {
    const n = zs[0].shape[0];
    if (!this.native(n)) return this.small.decode(zs);
    const shapes = zs.map((z) => [z.shape[1], z.shape[2], z.shape[3]] as const);
    this.decoder ??= OnnxDecoder.create(this.ort, this.model, this.batch, shapes, this.threads ?? undefined);
    const d = await this.decoder;
    const values = zs.map((z) => z.dataSync() as Float32Array);
    const { size, channels } = this.model.config;
    const per = size * size * channels;
    const out = new Float32Array(n * per);
    for (let start = 0; start < n; start += d.batch) {
      const count = Math.min(d.batch, n - start);
      const part = values.map((v, l) => {
        const [h, w, c] = shapes[l];
        return v.subarray(start * h * w * c, (start + count) * h * w * c);
      });
      out.set(await d.decode(part, count), start * per);
    }
    return out;
  }

  async dispose(): Promise<void> {
    const sessions: (Promise<Released> | null)[] = [...this.samplers.values(), this.forward, this.decoder];
    this.samplers.clear();
    this.forward = this.decoder = null;
    // A session that failed to open, or to close, holds nothing more to release.
    await Promise.all(sessions.map((p) => p?.then((s) => s.dispose()).catch(() => undefined)));
    await this.small.dispose();
  }
}
