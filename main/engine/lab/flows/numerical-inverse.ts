// What a layer without a closed-form inverse needs to invert anyway: a batched root finder for
// increasing 1-D equations (in float64), and the implicit-function step that gives a root found
// outside autodiff the gradient of the true inverse, so likelihood training works through it.
import * as tf from '../../tf.ts';

/** Stops once |g(t) - target| is below this (relative to 1 + |target|) or the bracket is this narrow. */
const TOLERANCE = 1e-12;
const MAX_ITERATIONS = 100;

export interface IncreasingFunction {
  /** g(t) for equation i. */
  value(t: number, i: number): number;
  /** g'(t) for equation i (≥ 0). */
  slope(t: number, i: number): number;
}

/**
 * Solves g(t) = target[i] for each i, with g increasing and the root inside [lo[i], hi[i]]:
 * Newton steps, replaced by bisection whenever a step would leave the shrinking bracket (so a
 * flat stretch, where Newton fails, still converges).
 */
export function solveIncreasing(target: Float64Array, lo: Float64Array, hi: Float64Array, g: IncreasingFunction): Float64Array {
  const roots = new Float64Array(target.length);
  for (let i = 0; i < target.length; i++) {
    let a = lo[i];
    let b = hi[i];
    let t = 0.5 * (a + b);
    const tol = TOLERANCE * (1 + Math.abs(target[i]));
    for (let k = 0; k < MAX_ITERATIONS; k++) {
      const r = g.value(t, i) - target[i];
      if (Math.abs(r) <= tol || b - a <= tol) break;
      if (r > 0) b = t;
      else a = t;
      const newton = t - r / g.slope(t, i);
      t = newton > a && newton < b ? newton : 0.5 * (a + b);
    }
    roots[i] = t;
  }
  return roots;
}

/**
 * The inverse z = f⁻¹(x) at a root z0 found numerically (a constant to autodiff):
 * z = z0 - J(z0)⁻¹ (f(z0) - x). Its value is z0 (plus one Newton refinement), and since the
 * residual f(z0) - x is built with tensors, its gradient is the implicit one,
 * ∂z = J⁻¹ (∂x - ∂f/∂θ ∂θ), for the weights and for x alike.
 */
export function implicitInverse(z0: tf.Tensor2D, residual: tf.Tensor2D, solveJacobian: (r: tf.Tensor2D) => tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.sub(z0, solveJacobian(residual)));
}
