// Evaluation of a class-conditional model (issue 17): bits per dim given each image's class,
// unconditional bits per dim with log p(x) = logsumexp_y [log p(x|y) + log p(y)] (p(y) the
// training frequencies in model.json), and accuracy of argmax_y log p(x|y), from one pass per batch.
// Flow matching (no classLogProbs: an ODE solve per class): bits given the class and of its
// unconditional branch, two solves per image, and no accuracy.
import type { ImageSet } from '../data/index.ts';
import { oneHot } from '../data/one-hot.ts';
import { ConfigError } from '../errors.ts';
import { logClassPrior, marginalLogProbs, marginalOverClasses } from '../models/class-marginal.ts';
import { classCountOf, type FlowModel } from '../models/flow-model.ts';
import { runtimeFor } from '../runtime/runtime-for.ts';
import { evaluatedCount, forEachEvaluationBatch, meanAndStandardError, type EvaluateOptions } from './evaluate.ts';

/** Per image, in the set's order. */
export interface ClassScores {
  /** Bits per dim given the image's class; NaN where the set gives it no class the model knows. */
  conditional: Float64Array;
  /** Bits per dim of p(x) = sum_y p(x|y) p(y), or of the model's unconditional branch (models/class-marginal.ts). */
  unconditional: Float64Array;
  /** The class argmax_y log p(x|y), in the model's class order; null for a model without classLogProbs. */
  predicted: Int32Array | null;
  /** The image's class in the model's class order; -1 where unknown. */
  truth: Int32Array;
}

/** Means over a set; null where no image has a class the model knows. */
export interface ClassMetrics {
  conditionalBpd: number | null;
  unconditionalBpd: number;
  accuracy: number | null;
}

/**
 * The set's labels in the model's class order, matched by name (a folder may hold its classes in
 * another order, or only some of them); -1 for an image whose class the model does not know or
 * an unlabelled set.
 */
export function labelsForModel(model: FlowModel, set: ImageSet): Int32Array {
  const names = model.classLabels?.names ?? [];
  const index = new Map(names.map((name, i) => [name, i]));
  const byClass = set.classes.map((name) => index.get(name) ?? -1);
  return Int32Array.from({ length: set.count }, (_, i) => (set.labels ? byClass[set.labels[i]] : -1));
}

/** Every image's class scores (see ClassScores); the model must be conditional. */
export async function classScoresOfSet(model: FlowModel, set: ImageSet, opts: EvaluateOptions = {}): Promise<ClassScores> {
  const classes = classCountOf(model);
  if (classes === 0) throw new ConfigError('BAD_CONFIG', `This ${model.config.kind} model has no classes: it was not trained on a folder of classes.`);
  const nBits = opts.nBits ?? 8;
  const { size, channels } = model.config;
  const dims = size * size * channels;
  const bits = (logp: number) => -logp / (dims * Math.LN2) + nBits;
  const logPrior = logClassPrior(model);
  const total = evaluatedCount(set, opts);
  const truth = labelsForModel(model, set).subarray(0, total);
  const summed = marginalOverClasses(model);
  const predicted = summed ? new Int32Array(total) : null;
  const scores: ClassScores = { conditional: new Float64Array(total), unconditional: new Float64Array(total), predicted, truth };
  const runtime = runtimeFor(model);
  await forEachEvaluationBatch(model, set, opts, async (x, n, start, noise) => {
    if (!predicted) {
      // An unknown class scores under no class, and is set aside as NaN below.
      const labels = truth.subarray(start, start + n);
      const given = await runtime.bitsPerDim(x, n, nBits, noise, oneHot(labels, classes));
      scores.unconditional.set(await runtime.bitsPerDim(x, n, nBits, noise), start);
      labels.forEach((label, i) => (scores.conditional[start + i] = label >= 0 ? given[i] : NaN));
      return;
    }
    const logps = await runtime.classLogProbs(x, n);
    const marginal = marginalLogProbs(logps, logPrior);
    for (let i = 0; i < n; i++) {
      const row = logps.subarray(i * classes, (i + 1) * classes);
      let best = 0;
      for (let y = 1; y < classes; y++) if (row[y] > row[best]) best = y;
      const label = truth[start + i];
      predicted[start + i] = best;
      scores.conditional[start + i] = label >= 0 ? bits(row[label]) : NaN;
      scores.unconditional[start + i] = bits(marginal[i]);
    }
  });
  return scores;
}

/** The means of `scores` over the images (conditional bits and accuracy over those with a known class; no accuracy without predictions). */
export function classMetrics(scores: ClassScores): ClassMetrics {
  const known = scores.truth.reduce((n, t) => n + (t >= 0 ? 1 : 0), 0);
  const { predicted } = scores;
  let correct = 0;
  scores.truth.forEach((t, i) => (correct += t >= 0 && predicted?.[i] === t ? 1 : 0));
  return {
    conditionalBpd: known ? meanAndStandardError(scores.conditional.filter((_, i) => scores.truth[i] >= 0)).mean : null,
    unconditionalBpd: meanAndStandardError(scores.unconditional).mean,
    accuracy: known && predicted ? correct / known : null,
  };
}
