// The ODE of a continuous flow on image batches, with the Lab's solvers and trace estimators:
// transport along v, and log p(x) by the instantaneous change of variables (Chen et al. 2018),
// log p(x) = log N(z) - ∫₀¹ div v dt, solved from the data (t = 1) to the base (t = 0).
import * as tf from '../tf.ts';
import { gaussianLogDensity } from '../flows/gaussian.ts';
import { solveOde, type OdeFunction, type OdeOptions } from '../lab/ode/solve-ode.ts';
import { exactTrace, probedTrace } from '../lab/trace.ts';

/** v(x, t) on a batch of images [n, H, W, C] at one time t. */
export type ImageVelocity = (x: tf.Tensor4D, t: number) => tf.Tensor4D;

/** Hutchinson's estimate with these probes ([n, H*W*C] rows, kept for the whole solve), or the exact trace (H*W*C passes: tiny images only). */
export type DivergenceEstimate = { probes: tf.Tensor2D } | 'exact';

/** Where `x` goes when carried along v from t0 to t1 (either direction). */
export function transport(v: ImageVelocity, x: tf.Tensor4D, t0: number, t1: number, ode: OdeOptions): tf.Tensor4D {
  const f: OdeFunction = (t, [xt]) => [v(xt as tf.Tensor4D, t)];
  return solveOde(f, [x], t0, t1, ode).y[0] as tf.Tensor4D;
}

/** The end of the solve from the data: the base point z, log N(z) and Δ = -∫₀¹ div v dt, per image. */
export interface OdeLikelihood {
  z: tf.Tensor4D;
  logpz: tf.Tensor1D;
  delta: tf.Tensor1D;
}

/**
 * Solves [x, Δ] from t = 1 to 0 with dΔ/dt = div v, so log p(x) = logpz + delta. The divergence
 * comes from vector-Jacobian products uᵀJ (tfjs's gradients): the trace of Jᵀ is that of J, and
 * εᵀJᵀε = εᵀJε, so the Lab's trace estimators apply unchanged. Not differentiable in the weights.
 */
export function odeLikelihood(v: ImageVelocity, x: tf.Tensor4D, divergence: DivergenceEstimate, ode: OdeOptions): OdeLikelihood {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const dim = h * w * c;
    const f: OdeFunction = (t, [xt]) =>
      tf.tidy(() => {
        const at = xt as tf.Tensor4D;
        // u ↦ Jᵀu per image, from one pass of v and its backward pass.
        const vjp = (u: tf.Tensor2D) => {
          const { value, grad } = tf.valueAndGrad((y: tf.Tensor4D) => v(y, t))(at, tf.cast(tf.reshape(u, at.shape), 'float32') as tf.Tensor4D);
          return { value, product: tf.reshape(grad, [n, dim]) as tf.Tensor2D };
        };
        if (divergence === 'exact') return [v(at, t), exactTrace((u) => vjp(u).product, n, dim)];
        const { value, product } = vjp(divergence.probes);
        return [value, probedTrace(() => product, divergence.probes)];
      });
    const [z, delta] = solveOde(f, [x, tf.zeros([n])], 1, 0, ode).y as [tf.Tensor4D, tf.Tensor1D];
    return { z, logpz: gaussianLogDensity(z, null), delta };
  });
}
