// A class-conditional model's likelihood without a class: p(x) = sum_y p(x|y) p(y), with p(y) the
// training frequencies kept in model.json, summed in float64 from log p(x|y) of every class.
// Flow matching, whose log p(x|y) takes an ODE solve per class, answers with its unconditional branch instead.
import { classCountOf, type FlowModel } from './flow-model.ts';

/**
 * Whether `model`'s p(x) is the sum over classes (a conditional model with classLogProbs: Glow,
 * RealNVP, TarFlow). A conditional model without it (flow matching) scores p(x) with its own
 * unconditional branch, the one label dropout trains: no class given, as an unconditional model.
 */
export function marginalOverClasses(model: FlowModel): boolean {
  return classCountOf(model) > 0 && model.classLogProbs !== undefined;
}

/** log p(y) of each class: the model's training frequencies, or uniform where it has none (a model built by hand). */
export function logClassPrior(model: FlowModel): number[] {
  const classes = classCountOf(model);
  const frequencies = model.classLabels?.frequencies ?? new Array<number>(classes).fill(1 / classes);
  return frequencies.map((f) => Math.log(f));
}

/** log sum_i exp(v_i), in float64. */
export function logSumExp(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]);
  if (!Number.isFinite(max)) return max;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.exp(values[i] - max);
  return max + Math.log(sum);
}

/** log p(x) of each of the images whose log p(x|y) are the rows of `logps` ([n, K] row-major). */
export function marginalLogProbs(logps: ArrayLike<number>, logPrior: readonly number[]): Float64Array {
  const classes = logPrior.length;
  const n = logps.length / classes;
  return Float64Array.from({ length: n }, (_, i) => logSumExp(logPrior.map((lp, y) => logps[i * classes + y] + lp)));
}
