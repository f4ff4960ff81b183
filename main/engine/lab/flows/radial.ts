// Radial flow layer (Rezende & Mohamed 2015): x = z + β h(α, r)(z - z0), h = 1/(α + r), r = |z - z0|,
// the closed-form sampling direction; α = softplus(α̂) and β = -α + softplus(β̂) keep β ≥ -α, so the
// map is invertible by construction. The density direction is numerical: |x - z0| = r (1 + β h) is
// increasing in r and, multiplied out, a quadratic, whose positive root is taken in float64.
import * as tf from '../../tf.ts';
import { gaussianWeights } from '../../flows/init.ts';
import type { ParamScope } from '../../flows/params.ts';
import type { Rng } from '../../random.ts';
import type { LayerOutput, VectorLayer } from '../vector-layer.ts';
import { implicitInverse } from './numerical-inverse.ts';

/** Added to r² under the square root: no change to r in float32, but a finite gradient where z = z0. */
const R_SQUARED_FLOOR = 1e-30;
/** Smallest r divided by in the Jacobian's rank-one term (whose numerator vanishes with r). */
const R_FLOOR = 1e-12;

interface Radius {
  /** z - z0 */
  v: tf.Tensor2D;
  r: tf.Tensor1D;
  /** 1 + β h(r): the Jacobian's eigenvalue across the radius (D - 1 times). */
  across: tf.Tensor1D;
  /** 1 + β α / (α + r)²: its eigenvalue along the radius. */
  along: tf.Tensor1D;
}

export class RadialLayer implements VectorLayer {
  readonly center: tf.Variable;
  readonly alphaRaw: tf.Variable;
  readonly betaRaw: tf.Variable;

  constructor(scope: ParamScope, readonly dim: number, rng: Rng) {
    const std = 1 / Math.sqrt(dim);
    this.center = scope.variable('center', gaussianWeights([dim], std, rng));
    this.alphaRaw = scope.variable('alpha_raw', gaussianWeights([1], std, rng));
    this.betaRaw = scope.variable('beta_raw', gaussianWeights([1], std, rng));
  }

  /** α > 0 and β ≥ -α, from the raw parameters. */
  alphaBeta(): { alpha: tf.Tensor1D; beta: tf.Tensor1D } {
    return tf.tidy(() => {
      const alpha = tf.softplus(this.alphaRaw) as tf.Tensor1D;
      return { alpha, beta: tf.sub(tf.softplus(this.betaRaw), alpha) as tf.Tensor1D };
    });
  }

  /** Sampling direction, z to x, with log|det ∂x/∂z| = (D - 1) log(1 + βh) + log(1 + βα/(α + r)²). */
  inverse(z: tf.Tensor2D): LayerOutput {
    return tf.tidy(() => {
      const { alpha, beta } = this.alphaBeta();
      const at = this.radius(z, alpha, beta);
      return { out: this.push(z, at, alpha, beta), logDet: this.logDet(at) } as LayerOutput;
    });
  }

  /** Density direction, x to z, through the float64 root in r and the implicit-gradient step. */
  forward(x: tf.Tensor2D): LayerOutput {
    return tf.tidy(() => {
      const { alpha, beta } = this.alphaBeta();
      const z0 = this.root(x, alpha, beta);
      const at0 = this.radius(z0, alpha, beta);
      // J = (1 + βh) I + (βh'/r) v vᵀ with h' = -1/(α + r)², inverted by Sherman-Morrison.
      const rankOne = tf.div(tf.neg(beta), tf.mul(tf.square(tf.add(alpha, at0.r)), tf.maximum(at0.r, R_FLOOR)));
      const solveJacobian = (res: tf.Tensor2D): tf.Tensor2D => {
        const coef = tf.div(tf.mul(rankOne, tf.sum(tf.mul(at0.v, res), 1)), at0.along);
        return tf.div(tf.sub(res, tf.mul(tf.expandDims(coef, 1), at0.v)), tf.expandDims(at0.across, 1)) as tf.Tensor2D;
      };
      const z = implicitInverse(z0, tf.sub(this.push(z0, at0, alpha, beta), x) as tf.Tensor2D, solveJacobian);
      return { out: z, logDet: tf.neg(this.logDet(this.radius(z, alpha, beta))) } as LayerOutput;
    });
  }

  private radius(z: tf.Tensor2D, alpha: tf.Tensor1D, beta: tf.Tensor1D): Radius {
    const v = tf.sub(z, this.center) as tf.Tensor2D;
    const r = tf.sqrt(tf.add(tf.sum(tf.square(v), 1), R_SQUARED_FLOOR)) as tf.Tensor1D;
    const ar = tf.add(alpha, r);
    return {
      v,
      r,
      across: tf.add(1, tf.div(beta, ar)) as tf.Tensor1D,
      along: tf.add(1, tf.div(tf.mul(beta, alpha), tf.square(ar))) as tf.Tensor1D,
    };
  }

  private push(z: tf.Tensor2D, at: Radius, alpha: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor2D {
    const scale = tf.div(beta, tf.add(alpha, at.r));
    return tf.add(z, tf.mul(tf.expandDims(scale, 1), at.v)) as tf.Tensor2D;
  }

  private logDet(at: Radius): tf.Tensor1D {
    return tf.add(tf.mul(this.dim - 1, tf.log(at.across)), tf.log(at.along)) as tf.Tensor1D;
  }

  /**
   * z0 = f⁻¹(x) in float64, outside autodiff: ρ = |x - z0| = r + βr/(α + r) gives
   * r² + (α + β - ρ) r - ρα = 0, whose non-negative root is taken in the form free of cancellation.
   */
  private root(x: tf.Tensor2D, alphaT: tf.Tensor1D, betaT: tf.Tensor1D): tf.Tensor2D {
    const [n, d] = x.shape;
    const xs = x.dataSync();
    const c = this.center.dataSync();
    const alpha = alphaT.dataSync()[0];
    const beta = betaT.dataSync()[0];
    const z0 = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      let rho2 = 0;
      for (let k = 0; k < d; k++) rho2 += (xs[i * d + k] - c[k]) ** 2;
      const rho = Math.sqrt(rho2);
      const p = alpha + beta - rho;
      const q = rho * alpha;
      const disc = Math.sqrt(p * p + 4 * q);
      const r = rho === 0 ? 0 : p >= 0 ? (2 * q) / (p + disc) : (disc - p) / 2;
      const shrink = rho === 0 ? 0 : r / rho;
      for (let k = 0; k < d; k++) z0[i * d + k] = c[k] + (xs[i * d + k] - c[k]) * shrink;
    }
    return tf.tensor2d(z0, [n, d]);
  }
}
