// Projected unadjusted Langevin dynamics: x <- Π(x + ε ∇log p(x) + √(2εT) ξ), Π the nearest point
// of the set the observation allows (observed values kept, values in the data range), so every state is exact.
import { FlowDeskError } from '../errors.ts';
import { throttledProgress, throwIfAborted, type ProgressListener } from '../progress.ts';
import type { Rng } from '../random.ts';

/** Per chain, the gradient of log p at `x` (`n` chains of the same length back to back). */
export type LogDensityGradient = (x: Float32Array, n: number) => Promise<Float32Array>;

export interface LangevinOptions {
  steps: number;
  /** ε of the first step. */
  stepSize: number;
  /** ε of the last step: the steps shrink geometrically from stepSize to it. */
  finalStepSize: number;
  /** p^(1/T) is sampled: the noise's variance scales by T (0: projected gradient ascent). */
  temperature: number;
  rng: Rng;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** The step size of step k of `steps`: geometric from `first` to `last`. */
export function stepSizeAt(k: number, steps: number, first: number, last: number): number {
  return steps <= 1 ? first : first * (last / first) ** (k / (steps - 1));
}

/**
 * Runs the chains in `x` (`n` of them back to back, changed in place; float64, so a projected
 * constraint holds to rounding). `constrain` moves all chains, in place, to the nearest point of
 * the allowed set (a Euclidean projection; Bubeck, Eldan and Lehec 2015's projected Langevin).
 * Where that set is an affine subspace, the projection removes the step's and the noise's parts
 * across it, and the chains follow Langevin dynamics on the subspace: the conditional density.
 */
export async function langevin(x: Float64Array, n: number, gradient: LogDensityGradient, constrain: (x: Float64Array) => void, opts: LangevinOptions): Promise<void> {
  const progress = throttledProgress(opts.onProgress, opts.steps, 'Langevin steps');
  for (let k = 0; k < opts.steps; k++) {
    throwIfAborted(opts.signal, 'Restoration');
    const eps = stepSizeAt(k, opts.steps, opts.stepSize, opts.finalStepSize);
    const noise = Math.sqrt(2 * eps * opts.temperature);
    const g = await gradient(Float32Array.from(x), n);
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(g[i])) {
        throw new FlowDeskError('NON_FINITE', `Langevin step ${k + 1} of ${opts.steps} met a gradient of log p that is not finite (the model overflowed there): lower the step size (now ${eps.toExponential(2)}).`);
      }
      x[i] += eps * g[i] + noise * opts.rng.normal();
    }
    constrain(x);
    progress(k + 1);
  }
}
