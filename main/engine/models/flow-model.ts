// What every model offers: exact log-likelihood, encoding to per-level latents, decoding,
// and temperature sampling. Bits per dimension follow DESIGN.md for n-bit data.
import * as tf from '../tf.ts';
import type { ParamStore } from '../flows/params.ts';
import type { Rng } from '../random.ts';
import type { ResolvedModelConfig } from './config.ts';
import { DEFAULT_TRAINING_LOSS, type TrainingLossKind } from '../../../common/training-loss.ts';

// A type alias, not an interface, so tf.tidy accepts it as a tensor container.
export type FlowOutput = {
  zs: tf.Tensor4D[];
  logdet: tf.Tensor1D;
  logpz: tf.Tensor1D;
};

/**
 * Random values drawn per image from a seeded stream (train/batches.ts' drawValues): a training
 * step's besides its dequantization noise, or an evaluation's for a stochastic log p(x).
 */
export interface TrainingNoise {
  /** Values per image. */
  readonly values: number;
  /** 'rademacher': -1 or 1 with equal odds (Hutchinson's trace probes). */
  readonly distribution: 'normal' | 'uniform' | 'rademacher';
}

/**
 * What a model trains on when it is not its own bits per dim: a per-image loss of the batch and
 * the noise it takes, drawn as a pure function of (seed, step) so a resumed run draws the same.
 */
export interface TrainingObjective {
  /** What the loss is, for the metrics and the person (common/training-loss.ts). */
  readonly kind: TrainingLossKind;
  readonly noise: readonly TrainingNoise[];
  /** Per-image loss; noise[i] is [n, noise[i].values]. */
  loss(x: tf.Tensor4D, noise: readonly tf.Tensor2D[]): tf.Tensor1D;
}

export interface FlowModel {
  readonly config: ResolvedModelConfig;
  readonly params: ParamStore;
  /** Whether data-dependent initialisation (ActNorm) has run; saved with the weights. */
  initialised: boolean;
  /** Data-dependent initialisation from a batch; a no-op for models without ActNorm. */
  initialise(x: tf.Tensor4D): void;
  /**
   * log p(x) in nats per example, x the dequantized images in [-1/2, 1/2]; `noise`: the values
   * of `scoringNoise` for these images ([n, values] each), for a model that has any.
   */
  logProb(x: tf.Tensor4D, noise?: readonly tf.Tensor2D[]): tf.Tensor1D;
  /** The latents with the two parts of log p(x): log|det dz/dx| and log p(z), per example. */
  forward(x: tf.Tensor4D, noise?: readonly tf.Tensor2D[]): FlowOutput;
  /** Per-level latents, the factored-out ones first and the top last. */
  encode(x: tf.Tensor4D): tf.Tensor4D[];
  /** Inverse of encode. */
  decode(zs: tf.Tensor4D[]): tf.Tensor4D;
  /** n images with every level's prior standard deviation scaled by `temperature`. */
  sample(n: number, temperature: number, rng: Rng): tf.Tensor4D;
  /** Shapes [H, W, C] of the standard-normal noise `sample` draws, in the order it draws them. */
  readonly noiseShapes: readonly [number, number, number][];
  /**
   * `sample` with its noise given (see `drawNoise`): noise[i] holds n * H * W * C values for
   * noiseShapes[i], already multiplied by the temperature. Lets a batch of samples be split.
   */
  sampleFromNoise(noise: readonly (Float32Array | tf.Tensor4D)[], n: number): tf.Tensor4D;
  /** Absent: the model trains on its mean bits per dim, with no noise besides dequantization. */
  readonly objective?: TrainingObjective;
  /**
   * Values log p(x) is estimated with, per image (flow matching's Hutchinson probes): the
   * evaluator draws them from its seeded stream beside the dequantization noise, so an image's
   * estimate never depends on its batch, nor on the runtime or thread that scores it. Absent: none.
   */
  readonly scoringNoise?: readonly TrainingNoise[];
  /**
   * False where sampling, encoding, decoding and scoring cannot be traced into one graph (an ODE
   * solver that reads its step sizes back): the onnx runtime then runs them on tfjs. Absent: true.
   */
  readonly inferenceTraces?: boolean;
  /**
   * Images per traced inference graph, where fewer than the runtime's usual batch: a graph that
   * holds many evaluations of a network (a fixed-step ODE's) needs memory in proportion to both.
   */
  readonly inferenceBatch?: number;
  dispose(): void;
}

/** The noise `model.sample(n, temperature, rng)` draws, in its order: sample = sampleFromNoise(drawNoise(...)). */
export function drawNoise(model: FlowModel, n: number, temperature: number, rng: Rng): Float32Array[] {
  return model.noiseShapes.map(([h, w, c]) => rng.fillNormal(new Float32Array(n * h * w * c), temperature));
}

/** log p(x) = log|det dz/dx| + log p(z) per example, from a flow's forward pass: every flow's logProb. */
export function logProbByForward(model: Pick<FlowModel, 'forward'>, x: tf.Tensor4D, noise?: readonly tf.Tensor2D[]): tf.Tensor1D {
  return tf.tidy(() => {
    const { logdet, logpz } = model.forward(x, noise);
    return tf.add(logdet, logpz) as tf.Tensor1D;
  });
}

/** The noise a training step of `model` draws besides dequantization (none for a flow). */
export function trainingNoiseOf(model: FlowModel): readonly TrainingNoise[] {
  return model.objective?.noise ?? [];
}

/** The values an evaluation draws per image for `model`'s log p(x) (none for a flow). */
export function scoringNoiseOf(model: FlowModel): readonly TrainingNoise[] {
  return model.scoringNoise ?? [];
}

/** The first `n` images' scoring noise as [n, values] tensors, or undefined where the model draws none. */
export function scoringNoiseTensors(model: FlowModel, noise: readonly Float32Array[], n: number): tf.Tensor2D[] | undefined {
  const kinds = scoringNoiseOf(model);
  return kinds.length === 0 ? undefined : kinds.map((s, i) => tf.tensor2d(noise[i].subarray(0, n * s.values), [n, s.values]));
}

/** What `model`'s training loss is. */
export function trainingLossKindOf(model: FlowModel): TrainingLossKind {
  return model.objective?.kind ?? DEFAULT_TRAINING_LOSS;
}

/** What `model` trains on, per image: its objective's loss, or its bits per dim. */
export function trainingLoss(model: FlowModel, x: tf.Tensor4D, noise: readonly tf.Tensor2D[], nBits: number): tf.Tensor1D {
  return model.objective ? model.objective.loss(x, noise) : bitsPerDim(model, x, nBits);
}

/** bits/dim = -(log p(x) - D log 2^n) / (D log 2), per example; `noise` as logProb's. */
export function bitsPerDim(model: FlowModel, x: tf.Tensor4D, nBits: number, noise?: readonly tf.Tensor2D[]): tf.Tensor1D {
  return tf.tidy(() => {
    const [, h, w, c] = x.shape;
    const d = h * w * c;
    return tf.add(tf.div(model.logProb(x, noise), -d * Math.LN2), nBits) as tf.Tensor1D;
  });
}
