// Bits per dimension of a model over a set of images, in batches, with seeded dequantization
// noise so that evaluations at different steps (and the CLI's eval) are comparable; a model
// trained with noise augmentation is measured on noised images too, and a model whose log p(x)
// is an estimate gets its per-image values (scoringNoise) from a seeded stream of their own. Batches go
// through the model's compute runtime (runtime/runtime-for.ts).
import { addGaussianNoise, dequantize, gatherBatch, type ImageSet } from '../data/index.ts';
import { noiseAugmentation } from '../../../common/bits-per-dim-label.ts';
import { scoringNoiseOf, type FlowModel } from '../models/flow-model.ts';
import { throwIfAborted } from '../progress.ts';
import { Rng } from '../random.ts';
import { runtimeFor } from '../runtime/runtime-for.ts';
import { drawValues, scoringStream } from './batches.ts';

export interface EvaluateOptions {
  /** Bits per channel the images are reduced to. Defaults to 8. */
  nBits?: number;
  /** Images per forward pass. Defaults to 64. */
  batch?: number;
  /** Evaluate only the first `limit` images. Defaults to all. */
  limit?: number;
  /** Seed of the dequantization noise. Defaults to 0. */
  seed?: number;
  signal?: AbortSignal;
  onBatch?: (done: number, total: number) => void;
}

/** Bits per dim of every image, in the set's order. */
export async function bitsPerDimOfSet(model: FlowModel, set: ImageSet, opts: EvaluateOptions = {}): Promise<Float64Array> {
  const nBits = opts.nBits ?? 8;
  const runtime = runtimeFor(model);
  const out = new Float64Array(evaluatedCount(set, opts));
  await forEachEvaluationBatch(model, set, opts, async (x, n, start, noise) => out.set(await runtime.bitsPerDim(x, n, nBits, noise), start));
  return out;
}

/** Images an evaluation of `set` scores: the first `limit`, or all. */
export function evaluatedCount(set: ImageSet, opts: EvaluateOptions): number {
  return Math.min(opts.limit ?? set.count, set.count);
}

/**
 * The evaluated images in batches, dequantized with the seeded noise (and noised as the model
 * was trained, `noiseAugmentation`), given to `take` in order with their scoring noise
 * (FlowModel.scoringNoise, from its own seeded stream): every evaluation of a set sees the same images.
 */
export async function forEachEvaluationBatch(
  model: FlowModel,
  set: ImageSet,
  opts: EvaluateOptions,
  take: (x: Float32Array, n: number, start: number, noise: Float32Array[]) => Promise<void>,
): Promise<void> {
  const nBits = opts.nBits ?? 8;
  const batch = opts.batch ?? 64;
  const total = evaluatedCount(set, opts);
  const rng = new Rng(opts.seed ?? 0);
  const scoring = scoringStream(opts.seed ?? 0);
  const noise = noiseAugmentation(model.config);
  for (let start = 0; start < total; start += batch) {
    throwIfAborted(opts.signal, 'Evaluation');
    const n = Math.min(batch, total - start);
    const indices = Int32Array.from({ length: n }, (_, i) => start + i);
    const x = dequantize(gatherBatch(set, indices), nBits, rng);
    if (noise > 0) addGaussianNoise(x, noise, rng);
    await take(x, n, start, drawValues(scoringNoiseOf(model), n, scoring));
    opts.onBatch?.(start + n, total);
  }
}

/** Mean bits per dim over (the first `limit` images of) a set. */
export async function meanBitsPerDim(model: FlowModel, set: ImageSet, opts: EvaluateOptions = {}): Promise<number> {
  return meanAndStandardError(await bitsPerDimOfSet(model, set, opts)).mean;
}

/**
 * The mean of per-image values and its standard error (sample standard deviation / √n; null for
 * one image). For a model scored by a stochastic estimate (flow matching's Hutchinson probes) the
 * spread between images holds the estimator's noise too, so the error covers both.
 */
export function meanAndStandardError(values: Float64Array): { mean: number; standardError: number | null } {
  const n = values.length;
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  if (n < 2) return { mean, standardError: null };
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { mean, standardError: Math.sqrt(squares / (n - 1) / n) };
}
