// What every model offers: exact log-likelihood, encoding to per-level latents, decoding,
// and temperature sampling. Bits per dimension follow DESIGN.md for n-bit data.
// Classes (issue 17): a batch's classes are one-hot rows `c` [n, K] (K = config.classes), the
// optional last argument everywhere; an all-zero row means "no class". Models without classes ignore it.
import * as tf from '../tf.ts';
import type { ParamStore } from '../flows/params.ts';
import type { Rng } from '../random.ts';
import type { ResolvedModelConfig } from './config.ts';
import { DEFAULT_TRAINING_LOSS, type TrainingLossKind } from '../../../common/training-loss.ts';
import { classCrossEntropyBits } from '../flows/class-conditioning.ts';

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
  /**
   * 'rademacher': -1 or 1 with equal odds (Hutchinson's trace probes); 'hole-mask': a square
   * image's inpainting mask, values = side * side (restore/mask.ts' randomRectangleMask, 1 = observed).
   */
  readonly distribution: 'normal' | 'uniform' | 'rademacher' | 'hole-mask';
}

/**
 * What a model trains on when it is not its own bits per dim: a per-image loss of the batch and
 * the noise it takes, drawn as a pure function of (seed, step) so a resumed run draws the same.
 */
export interface TrainingObjective {
  /** What the loss is, for the metrics and the person (common/training-loss.ts). */
  readonly kind: TrainingLossKind;
  readonly noise: readonly TrainingNoise[];
  /** Per-image loss; noise[i] is [n, noise[i].values]; `c` the one-hot classes of a conditional model. */
  loss(x: tf.Tensor4D, noise: readonly tf.Tensor2D[], c?: tf.Tensor2D): tf.Tensor1D;
}

/** A conditional model's classes, saved in model.json: names in index order and their frequencies p(y) in the training set. */
export interface ClassLabels {
  readonly names: readonly string[];
  readonly frequencies: readonly number[];
}

/** Per-image float inputs of a training step besides its images: the objective's noise, then a conditional model's classes. */
export interface StepInput {
  /** The traced training graph's input name. */
  readonly name: string;
  /** Values per image. */
  readonly values: number;
}

export interface FlowModel {
  readonly config: ResolvedModelConfig;
  readonly params: ParamStore;
  /** Whether data-dependent initialisation (ActNorm) has run; saved with the weights. */
  initialised: boolean;
  /** The classes of a conditional model (config.classes > 0) once known; null or absent otherwise. */
  classLabels?: ClassLabels | null;
  /**
   * Data-dependent initialisation from a batch; a no-op for models without ActNorm. `noise`: the
   * images' scoring noise, so a restoration model's init sees observations as its training does.
   */
  initialise(x: tf.Tensor4D, noise?: readonly tf.Tensor2D[]): void;
  /**
   * log p(x | c) in nats per example, x the dequantized images in [-1/2, 1/2]; `noise`: the values
   * of `scoringNoise` for these images ([n, values] each), for a model that has any.
   */
  logProb(x: tf.Tensor4D, c?: tf.Tensor2D, noise?: readonly tf.Tensor2D[]): tf.Tensor1D;
  /** The latents with the two parts of log p(x | c): log|det dz/dx| and log p(z | c), per example. */
  forward(x: tf.Tensor4D, c?: tf.Tensor2D, noise?: readonly tf.Tensor2D[]): FlowOutput;
  /** Per-level latents, the factored-out ones first and the top last. */
  encode(x: tf.Tensor4D, c?: tf.Tensor2D): tf.Tensor4D[];
  /** Inverse of encode. */
  decode(zs: tf.Tensor4D[], c?: tf.Tensor2D): tf.Tensor4D;
  /**
   * n images with every level's prior standard deviation scaled by `temperature`. `guidance`: the
   * classifier-free guidance weight w of a model trained with label dropout, which samples with
   * u + w (u_c - u) where u is the unconditional prediction and u_c the one given c: 0 is the
   * unconditional model, 1 (the default) the conditional one, above 1 guided. Models without it ignore it.
   */
  sample(n: number, temperature: number, rng: Rng, c?: tf.Tensor2D, guidance?: number): tf.Tensor4D;
  /** Shapes [H, W, C] of the standard-normal noise `sample` draws, in the order it draws them. */
  readonly noiseShapes: readonly [number, number, number][];
  /**
   * `sample` with its noise given (see `drawNoise`): noise[i] holds n * H * W * C values for
   * noiseShapes[i], already multiplied by the temperature. Lets a batch of samples be split.
   */
  sampleFromNoise(noise: readonly (Float32Array | tf.Tensor4D)[], n: number, c?: tf.Tensor2D, guidance?: number): tf.Tensor4D;
  /**
   * A restoration-trained model's samples of p(x | y) (config.restoreTask, issue 17 way 2): `noise`
   * as sampleFromNoise's, `y` [n, H, W, C'] the observation (restore/observation.ts). Absent: none.
   */
  sampleGiven?(noise: readonly (Float32Array | tf.Tensor4D)[], n: number, y: tf.Tensor4D): tf.Tensor4D;
  /** A restoration-trained model's forward pass given the observation y [n, H, W, C'] of each image: log p(x | y)'s parts. Absent: none. */
  forwardGiven?(x: tf.Tensor4D, y: tf.Tensor4D): FlowOutput;
  /** The noise sampleFromNoise(noise, n, c) maps to x at temperature 1: what "change the class" decodes under another class. */
  noiseOf?(x: tf.Tensor4D, c?: tf.Tensor2D): tf.Tensor4D[];
  /** A conditional model's class logits [n, K] from its latents (the class-prediction head); null without classes. */
  classLogits?(zs: readonly tf.Tensor4D[]): tf.Tensor2D | null;
  /**
   * A conditional model's log p(x | y) in nats for every class y, [n, K] (Glow's from one forward
   * pass, TarFlow's from one per class). Absent on a conditional model (flow matching): its p(x) is
   * its unconditional branch instead of a sum over classes (models/class-marginal.ts).
   */
  classLogProbs?(x: tf.Tensor4D): tf.Tensor2D;
  /** Absent: the model trains on its mean bits per dim, with no noise besides dequantization. */
  readonly objective?: TrainingObjective;
  /**
   * Values log p(x) is estimated with, per image (flow matching's Hutchinson probes; a
   * restoration model's degradation, which makes the observation y it is conditioned on): the
   * evaluator draws them from a seeded stream of their own, so an image's estimate never depends
   * on its batch, nor on the runtime or thread that scores it. A flow without an objective trains
   * on them too, drawn from (seed, step). Absent: none.
   */
  readonly scoringNoise?: readonly TrainingNoise[];
  /**
   * False where sampling, encoding, decoding and scoring cannot be traced into one graph (an ODE
   * solver that reads its step sizes back): the onnx runtime then runs them on tfjs. Absent: true.
   */
  readonly inferenceTraces?: boolean;
  /**
   * False where `encode` is not the traced forward pass's latents: a restoration model encodes
   * under the empty observation, which the forward graph's degradation inputs cannot express
   * (upscaling's zero values are not it). The onnx runtime then encodes on tfjs; ONNX export's
   * encode.onnx takes y instead (forwardGiven). Absent: true.
   */
  readonly encodeTraces?: boolean;
  /**
   * Images per traced inference graph, where fewer than the runtime's usual batch: a graph that
   * holds many evaluations of a network (a fixed-step ODE's) needs memory in proportion to both.
   */
  readonly inferenceBatch?: number;
  dispose(): void;
}

/** The noise `model.sample(n, temperature, rng)` draws, in its order: sample = sampleFromNoise(drawNoise(...)). */
export function drawNoise(model: Pick<FlowModel, 'noiseShapes'>, n: number, temperature: number, rng: Rng): Float32Array[] {
  return model.noiseShapes.map(([h, w, c]) => rng.fillNormal(new Float32Array(n * h * w * c), temperature));
}

/** log p(x | c) = log|det dz/dx| + log p(z | c) per example, from a flow's forward pass: every flow's logProb. */
export function logProbByForward(model: Pick<FlowModel, 'forward'>, x: tf.Tensor4D, c?: tf.Tensor2D, noise?: readonly tf.Tensor2D[]): tf.Tensor1D {
  return tf.tidy(() => {
    const { logdet, logpz } = model.forward(x, c, noise);
    return tf.add(logdet, logpz) as tf.Tensor1D;
  });
}

/**
 * The noise a training step of `model` draws besides dequantization: its objective's, or for a flow
 * the values its log p(x) takes (a restoration model's degradation; none for other flows).
 */
export function trainingNoiseOf(model: FlowModel): readonly TrainingNoise[] {
  return model.objective ? model.objective.noise : scoringNoiseOf(model);
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

/** Classes of the model: config.classes where the kind has the field, else 0. */
export function classCountOf(model: Pick<FlowModel, 'config'>): number {
  return 'classes' in model.config ? model.config.classes : 0;
}

/** The per-image inputs a training step of `model` takes besides its images, in order. */
export function stepInputsOf(model: FlowModel): StepInput[] {
  const noise = trainingNoiseOf(model).map((s, i) => ({ name: `noise/${i}`, values: s.values }));
  const classes = classCountOf(model);
  return classes > 0 ? [...noise, { name: 'classes', values: classes }] : noise;
}

/** What `model`'s training loss is. */
export function trainingLossKindOf(model: FlowModel): TrainingLossKind {
  return model.objective?.kind ?? DEFAULT_TRAINING_LOSS;
}

/**
 * What `model` trains on, per image: its objective's loss, or its bits per dim given the class (and
 * a restoration model's observation, made from x and its degradation values)
 * plus `classWeight` times the class-prediction loss in bits (openai/glow's weight_y).
 * `inputs` are the step inputs of stepInputsOf(model), in order.
 */
export function trainingLoss(model: FlowModel, x: tf.Tensor4D, inputs: readonly tf.Tensor2D[], nBits: number): tf.Tensor1D {
  const noiseCount = trainingNoiseOf(model).length;
  const noise = inputs.slice(0, noiseCount);
  const c = classCountOf(model) > 0 ? inputs[noiseCount] : undefined;
  if (model.objective) return model.objective.loss(x, noise, c);
  const values = noise.length > 0 ? noise : undefined;
  const weight = 'classWeight' in model.config ? model.config.classWeight : 0;
  if (!c || weight === 0 || !model.classLogits) return bitsPerDim(model, x, nBits, c, values);
  return tf.tidy(() => {
    const { zs, logdet, logpz } = model.forward(x, c, values);
    const bits = bitsFromLogProb(tf.add(logdet, logpz) as tf.Tensor1D, x, nBits);
    return tf.add(bits, tf.mul(classCrossEntropyBits(model.classLogits!(zs)!, c), weight)) as tf.Tensor1D;
  });
}

/** bits/dim = -(log p(x | c) - D log 2^n) / (D log 2), per example; `noise` as logProb's. */
export function bitsPerDim(model: FlowModel, x: tf.Tensor4D, nBits: number, c?: tf.Tensor2D, noise?: readonly tf.Tensor2D[]): tf.Tensor1D {
  return tf.tidy(() => bitsFromLogProb(model.logProb(x, c, noise), x, nBits));
}

/** Bits per dim of the images `x` from their log-likelihoods in nats. */
export function bitsFromLogProb(logp: tf.Tensor1D, x: tf.Tensor4D, nBits: number): tf.Tensor1D {
  const [, h, w, ch] = x.shape;
  return tf.add(tf.div(logp, -h * w * ch * Math.LN2), nBits) as tf.Tensor1D;
}
