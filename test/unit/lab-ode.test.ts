// The ODE solvers against closed forms: exponential decay dx/dt = λx and a 2-D rotation held as
// two tensors. Each fixed-step method shows its order (halving h cuts the error 2^p-fold), Dormand-
// Prince meets its tolerance, a round trip returns to the start, and gradients flow through the steps.
import { describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { solveOde, type OdeFunction, type OdeOptions } from '../../main/engine/lab/ode/solve-ode.ts';
import type { FixedStepMethod } from '../../main/engine/lab/ode/fixed-step.ts';
import { FlowDeskError } from '../../main/engine/errors.ts';
import { expectClose } from '../helpers/expect-close.ts';

const LAMBDA = -1.5;
const X0 = [1, -0.5, 2];
const OMEGA = 2;
const A0 = [1, 0, -0.3];
const B0 = [0, 1, 0.8];

interface Problem {
  readonly name: string;
  readonly f: OdeFunction;
  readonly t1: number;
  y0(): tf.Tensor[];
  /** The closed-form state at time t, flattened. */
  exact(t: number): number[];
}

const decay: Problem = {
  name: 'dx/dt = λx',
  f: (_t, [x]) => [tf.mul(LAMBDA, x)],
  t1: 1,
  y0: () => [tf.tensor1d(X0)],
  exact: (t) => X0.map((x) => x * Math.exp(LAMBDA * t)),
};

const rotation: Problem = {
  name: '2-D rotation',
  f: (_t, [a, b]) => [tf.mul(-OMEGA, b), tf.mul(OMEGA, a)],
  t1: 1.5,
  y0: () => [tf.tensor1d(A0), tf.tensor1d(B0)],
  exact: (t) => [
    ...A0.map((a, i) => a * Math.cos(OMEGA * t) - B0[i] * Math.sin(OMEGA * t)),
    ...A0.map((a, i) => a * Math.sin(OMEGA * t) + B0[i] * Math.cos(OMEGA * t)),
  ],
};

/** Solves `p` from 0 to its t1 and returns the largest error against the closed form, with the NFE. */
function solveError(p: Problem, opts: OdeOptions): { error: number; nfe: number } {
  const y0 = p.y0();
  const { y, nfe } = solveOde(p.f, y0, 0, p.t1, opts);
  const got = y.flatMap((t) => Array.from(t.dataSync()));
  tf.dispose([...y0, ...y]);
  const want = p.exact(p.t1);
  return { error: Math.max(...got.map((g, i) => Math.abs(g - want[i]))), nfe };
}

const ORDERS: readonly { method: FixedStepMethod; order: number; steps: number; evals: number }[] = [
  { method: 'euler', order: 1, steps: 64, evals: 1 },
  { method: 'heun', order: 2, steps: 32, evals: 2 },
  // Coarse enough that float32 rounding stays well below the finer solve's error.
  { method: 'rk4', order: 4, steps: 4, evals: 4 },
];

describe('ODE solvers', () => {
  for (const p of [decay, rotation]) {
    for (const { method, order, steps, evals } of ORDERS) {
      it(`${method} on ${p.name} has order ${order}: halving the step cuts the error ~${2 ** order}x`, () => {
        const coarse = solveError(p, { method, steps });
        const fine = solveError(p, { method, steps: 2 * steps });
        expect(coarse.nfe).toBe(evals * steps);
        expect(fine.nfe).toBe(evals * 2 * steps);
        expect(Math.log2(coarse.error / fine.error)).toBeGreaterThan(order - 0.25);
        expect(Math.log2(coarse.error / fine.error)).toBeLessThan(order + 0.25);
      });
    }

    // The controller bounds each step's local error; the global error is of the tolerance's order.
    it(`dopri5 on ${p.name} meets its tolerance (global error < 2 tol), with fewer evaluations when it is looser`, () => {
      const loose = solveError(p, { method: 'dopri5', rtol: 1e-3, atol: 1e-3 });
      const tight = solveError(p, { method: 'dopri5', rtol: 1e-5, atol: 1e-5 });
      expect(loose.error).toBeLessThan(2e-3);
      expect(tight.error).toBeLessThan(2e-5);
      expect(loose.nfe).toBeLessThan(tight.nfe);
    });
  }

  const roundTrips: readonly OdeOptions[] = [{ method: 'rk4', steps: 32 }, { method: 'dopri5', rtol: 1e-6, atol: 1e-6 }];
  for (const opts of roundTrips) {
    it(`${opts.method}: forward from 0 to t1, then backward to 0, returns to the start (1e-4)`, () => {
      for (const p of [decay, rotation]) {
        const y0 = p.y0();
        const forward = solveOde(p.f, y0, 0, p.t1, opts).y;
        const back = solveOde(p.f, forward, p.t1, 0, opts).y;
        y0.forEach((t, i) => expectClose(back[i], t, 1e-4));
        tf.dispose([...y0, ...forward, ...back]);
      }
    });
  }

  it('dopri5 reports every evaluation of f it made, and leaves no tensor behind', () => {
    const before = tf.memory().numTensors;
    let calls = 0;
    const counted: OdeFunction = (t, y) => {
      calls++;
      return rotation.f(t, y);
    };
    const y0 = rotation.y0();
    const { y, nfe } = solveOde(counted, y0, 0, rotation.t1, { method: 'dopri5', rtol: 1e-6, atol: 1e-6 });
    expect(nfe).toBe(calls);
    tf.dispose([...y0, ...y]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gradients flow through the solver steps: d x(1)/dλ = x0 e^λ', () => {
    const x0 = tf.tensor1d(X0);
    const lambda = tf.scalar(LAMBDA);
    const want = X0.reduce((a, b) => a + b, 0) * Math.exp(LAMBDA);
    for (const opts of [{ method: 'rk4', steps: 16 }, { method: 'dopri5', rtol: 1e-6, atol: 1e-6 }] as const) {
      const grad = tf.grad((l: tf.Tensor) => tf.sum(solveOde((_t, [x]) => [tf.mul(l, x)], [x0], 0, 1, opts).y[0]))(lambda);
      expectClose(grad, [want], 1e-4);
    }
  });

  it('dopri5 stops at its step cap with an error that says what to change', () => {
    const y0 = decay.y0();
    let caught: unknown;
    try {
      solveOde(decay.f, y0, 0, 1, { method: 'dopri5', rtol: 1e-7, atol: 1e-7, maxSteps: 3 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FlowDeskError);
    expect((caught as FlowDeskError).code).toBe('BAD_CONFIG');
    expect((caught as Error).message).toMatch(/took 3 steps.*loosen its tolerance/);
    y0.forEach((t) => t.dispose());
  });

  it('a fixed-step solver refuses a step count that is not a whole number ≥ 1', () => {
    expect(() => solveOde(decay.f, [tf.scalar(1)], 0, 1, { method: 'rk4', steps: 0 })).toThrow(/whole number of steps/);
  });
});
