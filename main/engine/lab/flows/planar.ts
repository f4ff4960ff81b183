// Planar flow layer (Rezende & Mohamed 2015): x = z + û tanh(wᵀz + b) is the closed-form sampling
// direction; û = u + (m(wᵀu) - wᵀu) w/|w|², m(a) = -1 + softplus(a), keeps wᵀû ≥ -1, so the map is
// invertible by construction. The density direction is numerical: a monotone 1-D root in α = wᵀz.
import * as tf from '../../tf.ts';
import { gaussianWeights } from '../../flows/init.ts';
import type { ParamScope } from '../../flows/params.ts';
import type { Rng } from '../../random.ts';
import type { LayerOutput, VectorLayer } from '../vector-layer.ts';
import { implicitInverse, solveIncreasing } from './numerical-inverse.ts';

export class PlanarLayer implements VectorLayer {
  readonly u: tf.Variable;
  readonly w: tf.Variable;
  readonly b: tf.Variable;

  constructor(scope: ParamScope, readonly dim: number, rng: Rng) {
    const std = 1 / Math.sqrt(dim);
    this.u = scope.variable('u', gaussianWeights([dim], std, rng));
    this.w = scope.variable('w', gaussianWeights([dim], std, rng));
    this.b = scope.variable('b', tf.zeros([1]));
  }

  /**
   * û, u moved along w until wᵀû = m(wᵀu) = -1 + softplus(wᵀu), and that dot product, taken as m
   * itself: never below -1 in float32, where wᵀû recomputed from û can round a hair under it.
   */
  constrained(): { uHat: tf.Tensor1D; dot: tf.Scalar } {
    return tf.tidy(() => {
      const wu = tf.sum(tf.mul(this.w, this.u));
      const dot = tf.sub(tf.softplus(wu), 1) as tf.Scalar;
      const uHat = tf.add(this.u, tf.mul(tf.div(tf.sub(dot, wu), tf.sum(tf.square(this.w))), this.w)) as tf.Tensor1D;
      return { uHat, dot };
    });
  }

  /** Sampling direction, z to x, with log|det ∂x/∂z| = log(1 + h'(wᵀz + b) wᵀû). */
  inverse(z: tf.Tensor2D): LayerOutput {
    return tf.tidy(() => {
      const { uHat, dot } = this.constrained();
      const { x, slope } = this.push(z, uHat);
      return { out: x, logDet: tf.log(tf.add(1, tf.mul(slope, dot))) } as LayerOutput;
    });
  }

  /** Density direction, x to z: the root α of α + wᵀû tanh(α + b) = wᵀx gives z = x - û tanh(α + b). */
  forward(x: tf.Tensor2D): LayerOutput {
    return tf.tidy(() => {
      const { uHat, dot: wu } = this.constrained();
      const z0 = this.root(x, uHat, wu);
      const at0 = this.push(z0, uHat);
      const slope0 = at0.slope;
      // J = I + û h' wᵀ, inverted by Sherman-Morrison: J⁻¹r = r - û h' (wᵀr) / (1 + h' wᵀû).
      const solveJacobian = (r: tf.Tensor2D): tf.Tensor2D => {
        const coef = tf.div(tf.mul(slope0, this.project(r)), tf.add(1, tf.mul(slope0, wu)));
        return tf.sub(r, tf.mul(tf.expandDims(coef, 1), uHat)) as tf.Tensor2D;
      };
      const z = implicitInverse(z0, tf.sub(at0.x, x) as tf.Tensor2D, solveJacobian);
      const slope = this.push(z, uHat).slope;
      return { out: z, logDet: tf.neg(tf.log(tf.add(1, tf.mul(slope, wu)))) } as LayerOutput;
    });
  }

  /** wᵀr for each row. */
  private project(r: tf.Tensor2D): tf.Tensor1D {
    return tf.squeeze(tf.matMul(r, tf.reshape(this.w, [this.dim, 1])), [1]) as tf.Tensor1D;
  }

  /** x = z + û tanh(wᵀz + b), and h' = 1 - tanh² at each row. */
  private push(z: tf.Tensor2D, uHat: tf.Tensor1D): { x: tf.Tensor2D; slope: tf.Tensor1D } {
    const h = tf.tanh(tf.add(this.project(z), this.b)) as tf.Tensor1D;
    return { x: tf.add(z, tf.mul(tf.expandDims(h, 1), uHat)) as tf.Tensor2D, slope: tf.sub(1, tf.square(h)) as tf.Tensor1D };
  }

  /** z0 = f⁻¹(x) in float64, outside autodiff. */
  private root(x: tf.Tensor2D, uHat: tf.Tensor1D, dot: tf.Scalar): tf.Tensor2D {
    const [n, d] = x.shape;
    const xs = x.dataSync();
    const w = this.w.dataSync();
    const u = uHat.dataSync();
    const b = this.b.dataSync()[0];
    const c = dot.dataSync()[0];
    const target = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) target[i] += w[k] * xs[i * d + k];
    // |c tanh| ≤ |c|, so the root lies within |c| of the target.
    const lo = target.map((t) => t - Math.abs(c));
    const hi = target.map((t) => t + Math.abs(c));
    const alpha = solveIncreasing(target, lo, hi, {
      value: (a) => a + c * Math.tanh(a + b),
      slope: (a) => 1 + c * (1 - Math.tanh(a + b) ** 2),
    });
    const z0 = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const h = Math.tanh(alpha[i] + b);
      for (let k = 0; k < d; k++) z0[i * d + k] = xs[i * d + k] - u[k] * h;
    }
    return tf.tensor2d(z0, [n, d]);
  }
}
