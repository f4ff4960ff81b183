// The runtime for backends whose kernels run on the calling thread only (wasm, plain cpu):
// batches split across the model's replica threads, one TensorFlow.js instance each; a single
// image, or one thread, stays on the calling thread.
import * as tf from '../tf.ts';
import { marginalOverClasses } from '../models/class-marginal.ts';
import type { FlowModel } from '../models/flow-model.ts';
import type { Rng } from '../random.ts';
import { autoMicroBatch } from '../train/gradients.ts';
import type { ComputeRuntime, TrainingStep, TrainingStepOptions } from './compute-runtime.ts';
import { defaultThreads, ModelReplicas } from './replicas/model-replicas.ts';
import { parallelGradients, stepThreads } from './replicas/replica-gradients.ts';
import { TfjsRuntime } from './tfjs-runtime.ts';

export class ReplicaRuntime implements ComputeRuntime {
  readonly kind = 'replicas';
  private readonly inThread: TfjsRuntime;
  /** Threads inference splits a batch across, the calling one included. */
  private readonly threads: number;

  /** `threads`: in all, the calling one included; null lets each job choose (see stepThreads). */
  constructor(
    readonly model: FlowModel,
    private readonly requested: number | null,
  ) {
    this.inThread = new TfjsRuntime(model);
    this.threads = requested ?? defaultThreads();
  }

  /** The replicas when a batch of `n` images is worth splitting. */
  private pool(n: number): ModelReplicas | null {
    return n >= 2 ? ModelReplicas.for(this.model, this.threads) : null;
  }

  async trainingStep({ batch, nBits, microBatch, optimizer }: TrainingStepOptions): Promise<TrainingStep> {
    const micro = microBatch ?? autoMicroBatch(this.model.config, batch);
    const threads = stepThreads(this.model.config, batch, this.requested);
    return {
      threads,
      update: async (data, inputs) => optimizer.update(parallelGradients(this.model, data, batch, nBits, micro, threads, inputs)),
      dispose: async () => {},
    };
  }

  sample(n: number, temperature: number, rng: Rng, classes?: Float32Array, guidance?: number): Promise<Float32Array> {
    const pool = this.pool(n);
    return pool ? tf.readAndDispose(pool.sample(n, temperature, rng, classes, guidance)) : this.inThread.sample(n, temperature, rng, classes, guidance);
  }

  async encode(x: Float32Array, n: number): Promise<tf.Tensor4D[]> {
    return this.pool(n)?.encode(x, n) ?? this.inThread.encode(x, n);
  }

  decode(zs: tf.Tensor4D[]): Promise<Float32Array> {
    const pool = this.pool(zs[0].shape[0]);
    return pool ? tf.readAndDispose(pool.decode(zs)) : this.inThread.decode(zs);
  }

  /** A conditional model's sum over classes runs on the calling thread, with classLogProbs. */
  async bitsPerDim(x: Float32Array, n: number, nBits: number, noise: readonly Float32Array[] = [], classes?: Float32Array): Promise<Float32Array> {
    if (!classes && marginalOverClasses(this.model)) return this.inThread.bitsPerDim(x, n, nBits, noise);
    return this.pool(n)?.bitsPerDim(x, n, nBits, noise, classes) ?? this.inThread.bitsPerDim(x, n, nBits, noise, classes);
  }

  /** On the calling thread: evaluation's one pass per batch, not yet split across the replicas. */
  classLogProbs(x: Float32Array, n: number): Promise<Float32Array> {
    return this.inThread.classLogProbs(x, n);
  }

  /** The threads end with the model (ModelReplicas.for ties them to it). */
  async dispose(): Promise<void> {}
}
