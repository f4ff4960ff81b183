// KL divergence of a Lab model to the truth, both directions, as Monte Carlo means with their
// standard errors, and the effective sample size of importance weights. The model enters only
// as log q (a function, or its values on its own draws), so nothing here knows a family.
import { ConfigError } from '../errors.ts';
import type { Rng } from '../random.ts';
import type { Target } from './targets/target.ts';

/** Fresh target samples per forward-KL estimate. */
export const KL_SAMPLES = 10_000;

/** log q of row-major points, in nats. */
export type LogDensityFn = (points: Float32Array) => Float64Array;

export interface MonteCarloEstimate {
  /** The estimate, in nats. */
  readonly value: number;
  /** Its standard error (sample standard deviation / √n); NaN when the value is infinite. */
  readonly se: number;
  readonly n: number;
}

export interface ReverseKlEstimate extends MonteCarloEstimate {
  /** Effective sample size of the weights p/q as a fraction of the draws, in (0, 1]. */
  readonly ess: number;
}

/** The mean of `values` and its standard error. */
export function meanWithSe(values: ArrayLike<number>): MonteCarloEstimate {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = sum / n;
  if (!Number.isFinite(mean) || n < 2) return { value: mean, se: NaN, n };
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (values[i] - mean) ** 2;
  return { value: mean, se: Math.sqrt(squares / (n - 1) / n), n };
}

/** ESS/n = (Σw)² / (n Σw²) for weights given as log w (any common offset cancels); 0 when every weight is 0. */
export function effectiveSampleFraction(logWeights: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < logWeights.length; i++) max = Math.max(max, logWeights[i]);
  if (!Number.isFinite(max)) return max === Infinity ? NaN : 0;
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < logWeights.length; i++) {
    const w = Math.exp(logWeights[i] - max);
    sum += w;
    sumSquares += w * w;
  }
  return (sum * sum) / (logWeights.length * sumSquares);
}

/** KL(p‖q) = E_p[log p - log q] on `n` fresh samples of the target (one whose true density is known). */
export function forwardKl(target: Target, logQ: LogDensityFn, rng: Rng, n = KL_SAMPLES): MonteCarloEstimate {
  if (!target.sample || !target.logDensity) {
    throw new ConfigError('BAD_ARGUMENT', `${target.label} has no known density to sample and score, so there is no KL to the truth; compare test NLL instead.`);
  }
  const points = target.sample(n, rng);
  const logP = target.logDensity(points);
  const logQValues = logQ(points);
  return meanWithSe(logP.map((lp, i) => lp - logQValues[i]));
}

/**
 * KL(q‖p) = E_q[log q - log p] over draws of the model with their log q; for an energy,
 * log p = -U - log Z, so this is E_q[log q + U + log Z]. Also the ESS of w = p/q.
 */
export function reverseKl(target: Target, draws: { points: Float32Array; logQ: ArrayLike<number> }): ReverseKlEstimate {
  if (!target.logDensity) {
    throw new ConfigError('BAD_ARGUMENT', `${target.label} has no known density, so there is no reverse KL to it.`);
  }
  const logP = target.logDensity(draws.points);
  const logRatio = logP.map((lp, i) => lp - draws.logQ[i]);
  const estimate = meanWithSe(logRatio.map((r) => -r));
  return { ...estimate, ess: effectiveSampleFraction(logRatio) };
}
