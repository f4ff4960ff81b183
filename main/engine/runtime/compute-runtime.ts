// Where a model's compute runs, behind one interface: training steps, sampling, encoding,
// decoding and bits per dim. One runtime per model, chosen once from the backend (runtime-for.ts);
// callers never ask which backend is active. Images are NHWC floats in model space.
import type * as tf from '../tf.ts';
import type { FlowModel } from '../models/flow-model.ts';
import type { Rng } from '../random.ts';
import type { Optimizer, StepOutcome } from '../train/optimizer.ts';

/** Which implementation runs: onnxruntime sessions, replica threads, or tfjs on the calling thread. */
export type RuntimeKind = 'onnx' | 'replicas' | 'tfjs';

export interface TrainingStepOptions {
  /** Images per step. */
  batch: number;
  /** Bits per channel of the data. */
  nBits: number;
  /** Most images per tfjs pass; null picks the largest that fits the activation budget. */
  microBatch: number | null;
  /** The run's optimizer, whose update every step applies (on onnx, inside the traced step). */
  optimizer: Optimizer;
}

/** A run's training step at a fixed batch size; its owner disposes it. */
export interface TrainingStep {
  /**
   * One step on the `batch` images in `data` and their step inputs (flow-model.ts' stepInputsOf:
   * the model's training noise from train/batches.ts' trainingNoise, then a conditional model's
   * one-hot classes; none for an unconditional flow): the loss (mean bits per dim, or the model's
   * objective), its gradients and the optimizer's update of the weights, skipped (weights and
   * moments untouched) when not finite.
   */
  update(data: Float32Array, inputs?: readonly Float32Array[]): Promise<StepOutcome>;
  /** Threads (or native cores) one step runs on. */
  readonly threads: number;
  dispose(): Promise<void>;
}

export interface ComputeRuntime {
  readonly kind: RuntimeKind;
  readonly model: FlowModel;
  /** The training step for `opts` (on onnx, the model's step and update are traced here, once). */
  trainingStep(opts: TrainingStepOptions): Promise<TrainingStep>;
  /**
   * `n` images [n, H, W, C] at `temperature`, as model.sample(n, temperature, rng, c, guidance) draws them;
   * `classes`: a conditional model's one-hot rows [n, K] (absent: no class); `guidance`: the
   * classifier-free guidance weight (FlowModel.sample; absent: 1, the conditional model).
   */
  sample(n: number, temperature: number, rng: Rng, classes?: Float32Array, guidance?: number): Promise<Float32Array>;
  /** model.encode of the `n` images in `x`; the caller disposes the latents. */
  encode(x: Float32Array, n: number): Promise<tf.Tensor4D[]>;
  /** model.decode(zs) as [n, H, W, C] floats; `zs` stay the caller's. */
  decode(zs: tf.Tensor4D[]): Promise<Float32Array>;
  /**
   * Bits per dim of the `n` images in `x` (dequantized), as flow-model's bitsPerDim; `noise`: the
   * images' scoring noise (FlowModel.scoringNoise), n x values of each kind, where the model has any.
   * `classes`: one-hot rows [n, K] the images are scored given. Without them a conditional model's are of
   * p(x) = sum_y p(x|y) p(y), or of its unconditional branch where it has no classLogProbs (models/class-marginal.ts).
   */
  bitsPerDim(x: Float32Array, n: number, nBits: number, noise?: readonly Float32Array[], classes?: Float32Array): Promise<Float32Array>;
  /** A conditional model's log p(x | y) in nats for every class y: [n, K] row-major, one forward pass. */
  classLogProbs(x: Float32Array, n: number): Promise<Float32Array>;
  /** Releases sessions and threads; the model stays usable for a new runtime. */
  dispose(): Promise<void>;
}
