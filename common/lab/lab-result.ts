// How a trained Lab model scored, as result.json stores it and the Api, the CLI and the Lab
// view's comparison table read it.

/** Nats; null where the target has no known density or the score does not apply. */
export interface LabResult {
  testNll: number | null;
  klToTruth: number | null;
  klSe: number | null;
  /** Reverse KL: the effective sample size of the importance weights, a fraction in (0, 1]. */
  ess: number | null;
  seconds: number;
  msPerStep: number;
  /** Milliseconds to draw 10,000 points and to evaluate 10,000 densities. */
  sampleMs: number;
  densityMs: number;
}
