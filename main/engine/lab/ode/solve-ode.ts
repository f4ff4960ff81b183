// One entry point to the ODE solvers, generic over a state that is a list of tensors: fixed steps
// (Euler, Heun, RK4) or adaptive Dormand-Prince, from t0 to t1 in either direction.
import type * as tf from '../../tf.ts';
import { integrateDopri5, type AdaptiveOptions } from './dopri5.ts';
import type { OdeFunction, OdeState } from './explicit-rk.ts';
import { integrateFixedStep, type FixedStepMethod } from './fixed-step.ts';

export type { OdeFunction, OdeState } from './explicit-rk.ts';

export type OdeMethod = FixedStepMethod | 'dopri5';

export type OdeOptions =
  | { readonly method: FixedStepMethod; /** Equal steps from t0 to t1. */ readonly steps: number }
  | ({ readonly method: 'dopri5' } & AdaptiveOptions);

export interface OdeResult {
  /** The state at t1, as new tensors (the caller still owns y0). */
  readonly y: tf.Tensor[];
  /** Evaluations of the dynamics. */
  readonly nfe: number;
}

export function solveOde(f: OdeFunction, y0: OdeState, t0: number, t1: number, opts: OdeOptions): OdeResult {
  return opts.method === 'dopri5' ? integrateDopri5(f, y0, t0, t1, opts) : integrateFixedStep(f, y0, t0, t1, opts.steps, opts.method);
}
