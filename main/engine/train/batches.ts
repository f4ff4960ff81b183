// Which images, which of them are mirrored, which dequantization (and augmentation) noise and
// which other training noise (a model's objective's) and which classes (label dropout's hidden
// ones) a step uses, as a pure function of (seed, step): a resumed run draws exactly what an
// uninterrupted one would.
import { addGaussianNoise, dequantize, gatherBatch, type ImageSet } from '../data/index.ts';
import { NO_CLASS, oneHot } from '../data/one-hot.ts';
import { classCountOf, trainingNoiseOf, type FlowModel, type TrainingNoise } from '../models/flow-model.ts';
import { Rng } from '../random.ts';
import { randomRectangleMask } from '../restore/mask.ts';

/** A 32-bit mix of several integers, to seed independent streams. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return h;
}

const STREAM_ORDER = 1;
const STREAM_NOISE = 2;
const STREAM_FLIP = 3;
const STREAM_GAUSSIAN = 4;
const STREAM_TRAINING_NOISE = 5;
const STREAM_SCORING_NOISE = 6;
const STREAM_LABEL_DROPOUT = 7;

/**
 * The stream an evaluation with `seed` draws a model's scoring noise from (FlowModel.scoringNoise),
 * apart from its dequantization noise, so that neither depends on the evaluation's batch size.
 */
export function scoringStream(seed: number): Rng {
  return new Rng(mixSeed(seed, STREAM_SCORING_NOISE));
}

/** Image indices of `step` (0-based): epochs are seeded permutations of the training set. */
export function batchIndices(count: number, batch: number, seed: number, step: number): Int32Array {
  const out = new Int32Array(batch);
  let cached: { epoch: number; perm: Int32Array } | null = null;
  for (let i = 0; i < batch; i++) {
    const position = step * batch + i;
    const epoch = Math.floor(position / count);
    if (!cached || cached.epoch !== epoch) cached = { epoch, perm: new Rng(mixSeed(seed, STREAM_ORDER, epoch)).permutation(count) };
    out[i] = cached.perm[position % count];
  }
  return out;
}

/** Which images of `step`'s batch are mirrored left-right: each one with probability 1/2. */
export function flippedImages(batch: number, seed: number, step: number): boolean[] {
  const rng = new Rng(mixSeed(seed, STREAM_FLIP, step));
  return Array.from({ length: batch }, () => rng.next() < 0.5);
}

/** Mirrors the chosen images of an NHWC batch left-right, in place. */
export function mirrorImages(pixels: Uint8Array, size: number, channels: number, chosen: readonly boolean[]): void {
  const row = size * channels;
  chosen.forEach((flip, image) => {
    if (!flip) return;
    for (let y = 0; y < size; y++) {
      const start = (image * size + y) * row;
      for (let left = 0, right = size - 1; left < right; left++, right--) {
        for (let c = 0; c < channels; c++) {
          const a = start + left * channels + c;
          const b = start + right * channels + c;
          const t = pixels[a];
          pixels[a] = pixels[b];
          pixels[b] = t;
        }
      }
    }
  });
}

/**
 * The dequantized float batch (NHWC) for `step`, images picked by batchIndices and, with `flip`,
 * mirrored by flippedImages; with `noise` > 0, plus Gaussian noise of that standard deviation
 * (TarFlow's noise augmentation, `noiseAugmentation` of the model's config).
 */
export function trainingBatch(set: ImageSet, batch: number, nBits: number, seed: number, step: number, flip = false, noise = 0): Float32Array {
  const pixels = gatherBatch(set, batchIndices(set.count, batch, seed, step));
  if (flip) mirrorImages(pixels, set.size, set.channels, flippedImages(batch, seed, step));
  const x = dequantize(pixels, nBits, new Rng(mixSeed(seed, STREAM_NOISE, step)));
  return noise > 0 ? addGaussianNoise(x, noise, new Rng(mixSeed(seed, STREAM_GAUSSIAN, step))) : x;
}

/** The objective's noise of `step` (flow matching's x0 and t): batch x values of each kind, in order. */
export function trainingNoise(kinds: readonly TrainingNoise[], batch: number, seed: number, step: number): Float32Array[] {
  return drawValues(kinds, batch, new Rng(mixSeed(seed, STREAM_TRAINING_NOISE, step)));
}

/** n images' values of each kind, in order, from `rng`. */
export function drawValues(kinds: readonly TrainingNoise[], n: number, rng: Rng): Float32Array[] {
  return kinds.map(({ values, distribution }) => {
    const out = new Float32Array(n * values);
    if (distribution === 'normal') return rng.fillNormal(out);
    if (distribution === 'uniform') return rng.fillUniform(out);
    if (distribution === 'hole-mask') {
      for (let i = 0; i < n; i++) out.set(randomRectangleMask(Math.sqrt(values), rng), i * values);
      return out;
    }
    for (let i = 0; i < out.length; i++) out[i] = rng.next() < 0.5 ? -1 : 1;
    return out;
  });
}

/**
 * The one-hot classes [batch, K] of the images trainingBatch picks for `step`; all-zero rows (no
 * class) for an unlabelled set, and with `dropout` > 0 for each image with that probability
 * (label dropout: the unconditional model classifier-free guidance needs, learned by the same network).
 */
export function trainingClasses(set: ImageSet, classes: number, batch: number, seed: number, step: number, dropout = 0): Float32Array {
  const indices = batchIndices(set.count, batch, seed, step);
  const labels = set.labels ? Array.from(indices, (i) => set.labels![i]) : new Array<number>(batch).fill(NO_CLASS);
  if (dropout > 0) {
    const rng = new Rng(mixSeed(seed, STREAM_LABEL_DROPOUT, step));
    for (let i = 0; i < batch; i++) if (rng.next() < dropout) labels[i] = NO_CLASS;
  }
  return oneHot(labels, classes);
}

/** The share of training images whose class a step of `model` hides: its `labelDropout`, 0 for a kind without it. */
export function labelDropoutOf(model: FlowModel): number {
  return 'labelDropout' in model.config ? model.config.labelDropout : 0;
}

/** `step`'s inputs besides the images, in stepInputsOf(model)'s order: the objective's noise, then a conditional model's classes. */
export function trainingInputs(model: FlowModel, set: ImageSet, batch: number, seed: number, step: number): Float32Array[] {
  const noise = trainingNoise(trainingNoiseOf(model), batch, seed, step);
  const classes = classCountOf(model);
  return classes > 0 ? [...noise, trainingClasses(set, classes, batch, seed, step, labelDropoutOf(model))] : noise;
}
