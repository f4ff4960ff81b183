// Which of a run's weights a model is loaded with, and how the CLI and the app say so: the
// moving average of the weights (the default), the last step's, or the best-validation ones.
// Plain data, so every process may import it.

/** `avg`: the moving average (see main/engine/train/weight-average.ts); `best`: lowest validation bits per dim. */
export const WEIGHTS_CHOICES = ['avg', 'last', 'best'] as const;
export type WeightsChoice = (typeof WEIGHTS_CHOICES)[number];
export const DEFAULT_WEIGHTS: WeightsChoice = 'avg';

/** The weights a loaded model holds, as their file's metadata records them. */
export interface WeightsInfo {
  /** What was asked for. */
  requested: WeightsChoice;
  /** What was loaded: `avg` gives `last` where a checkpoint holds no average (averaging off, or written before it). */
  used: WeightsChoice;
  /** The training step they are from; null where the file does not say. */
  step: number | null;
  /** The decay of the moving average they are (for `best`: that was averaged); null for plain weights. */
  decay: number | null;
  /** For `best`: the validation bits per dim that made them best. */
  valBpd: number | null;
}

/** "averaged (decay 0.999) from step 800", for a person. */
export function describeWeights(w: WeightsInfo): string {
  const from = w.step === null ? '' : ` from step ${w.step}`;
  if (w.used === 'avg') return `averaged${w.decay === null ? '' : ` (decay ${w.decay})`}${from}`;
  if (w.used === 'best') {
    const how = [w.valBpd === null ? null : `validation ${w.valBpd.toFixed(4)} bits/dim`, w.decay === null ? null : `averaged with decay ${w.decay}`].filter(Boolean);
    return `best${how.length ? ` (${how.join(', ')})` : ''}${from}`;
  }
  return `last${from}${w.requested === 'avg' ? ' (no averaged weights here: averaging was off or the checkpoint predates it)' : ''}`;
}
