// Explicit Runge-Kutta stages on a state that is a list of tensors, from a Butcher tableau: the one
// stage loop the fixed-step solvers (Euler, Heun, RK4) and Dormand-Prince share.
import * as tf from '../../tf.ts';

/** An ODE's state: any list of tensors (points, an accumulated log-density, image batches). */
export type OdeState = readonly tf.Tensor[];

/** dy/dt at time t; returns one tensor per state tensor, each of that tensor's shape. */
export type OdeFunction = (t: number, y: OdeState) => tf.Tensor[];

export interface ButcherTableau {
  /** Stage times as fractions of the step. */
  readonly c: readonly number[];
  /** a[i]: the weights of stages 0..i-1 in stage i's input. */
  readonly a: readonly (readonly number[])[];
  /** The weights of the stages in the step's result. */
  readonly b: readonly number[];
}

/** y + h Σ coeffs[j] ks[j], tensor by tensor; zero coefficients cost nothing. */
export function addScaled(y: OdeState, h: number, coeffs: readonly number[], ks: readonly OdeState[]): tf.Tensor[] {
  return tf.tidy(() =>
    y.map((yi, i) => {
      let sum = yi;
      coeffs.forEach((c, j) => {
        if (c !== 0) sum = tf.add(sum, tf.mul(ks[j][i], h * c));
      });
      return sum === yi ? tf.clone(yi) : sum;
    }),
  );
}

/**
 * The stage derivatives k_0..k_{s-1} of one step of size h (negative integrates backwards).
 * `k0`, when given, is f(t, y) already known (Dormand-Prince's first-same-as-last) and is reused.
 */
export function rkStages(f: OdeFunction, t: number, y: OdeState, h: number, tableau: ButcherTableau, k0?: OdeState): OdeState[] {
  const ks: OdeState[] = [k0 ?? f(t, y)];
  for (let i = 1; i < tableau.c.length; i++) {
    ks.push(f(t + tableau.c[i] * h, addScaled(y, h, tableau.a[i], ks)));
  }
  return ks;
}

export function disposeState(y: OdeState): void {
  for (const t of y) t.dispose();
}
