// Fixed-step explicit solvers: Euler (order 1), Heun (order 2) and the classic RK4 (order 4), taking
// n equal steps from t0 to t1 in either direction. Gradients flow by backpropagating through the steps.
import * as tf from '../../tf.ts';
import { disposeState, addScaled, rkStages, type ButcherTableau, type OdeFunction, type OdeState } from './explicit-rk.ts';

export const FIXED_STEP_TABLEAUX = {
  euler: { c: [0], a: [[]], b: [1] },
  heun: { c: [0, 1], a: [[], [1]], b: [1 / 2, 1 / 2] },
  rk4: { c: [0, 1 / 2, 1 / 2, 1], a: [[], [1 / 2], [0, 1 / 2], [0, 0, 1]], b: [1 / 6, 1 / 3, 1 / 3, 1 / 6] },
} as const satisfies Readonly<Record<string, ButcherTableau>>;
export type FixedStepMethod = keyof typeof FIXED_STEP_TABLEAUX;

export interface FixedStepResult {
  /** The state at t1 (new tensors; y0 is left to its owner). */
  readonly y: tf.Tensor[];
  /** Evaluations of f. */
  readonly nfe: number;
}

export function integrateFixedStep(f: OdeFunction, y0: OdeState, t0: number, t1: number, steps: number, method: FixedStepMethod): FixedStepResult {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`a fixed-step solver needs a whole number of steps ≥ 1; got ${steps}`);
  const tableau = FIXED_STEP_TABLEAUX[method];
  const h = (t1 - t0) / steps;
  let y: tf.Tensor[] = y0.map((t) => tf.clone(t));
  for (let i = 0; i < steps; i++) {
    const t = t0 + i * h;
    const next = tf.tidy(() => addScaled(y, h, tableau.b, rkStages(f, t, y, h, tableau)));
    disposeState(y);
    y = next;
  }
  return { y, nfe: steps * tableau.c.length };
}
