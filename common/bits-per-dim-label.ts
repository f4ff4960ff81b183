// How a model's bits per dim are named wherever they are shown (CLI train, eval and runs; the Train
// view and the Runs table): with noise augmentation they are of the noised data, so they say so.
import { modelFields } from './settings/model-fields.ts';

/** The fields that decide what a model's bits per dim measure; a run's stored settings or a resolved config. */
export interface ScoredModel {
  kind: string;
  noise?: number;
}

/**
 * Standard deviation of the Gaussian noise added to training (and evaluation) images, in model
 * space: TarFlow's noise augmentation; 0 for every other model.
 */
export function noiseAugmentation(model: ScoredModel): number {
  return model.kind === 'tarflow' ? (model.noise ?? modelFields.noise.default) : 0;
}

/** "data noised, σ = 0.05" for a model trained with noise augmentation; null where its data are plainly dequantized. */
export function noisedDataNote(model: ScoredModel): string | null {
  const sigma = noiseAugmentation(model);
  return sigma > 0 ? `data noised, σ = ${sigma}` : null;
}

/** "bits/dim", or "bits/dim (data noised, σ = 0.05)". */
export function bitsPerDimLabel(model: ScoredModel): string {
  const note = noisedDataNote(model);
  return note === null ? 'bits/dim' : `bits/dim (${note})`;
}

/**
 * A class-conditional model's two bits per dim, named by what they are of: each image given its
 * own class (what it trains on), and p(x) summed over the classes (comparable with an unconditional model).
 */
export function classBitsLabels(model: ScoredModel): { given: string; unconditional: string } {
  const bits = bitsPerDimLabel(model);
  return { given: `${bits} given the class`, unconditional: `unconditional ${bits}` };
}

/** The share of validation images whose most likely class (argmax of log p(x | y)) is their own. */
export const CLASS_ACCURACY_LABEL = 'class accuracy';
