// Continuous flows, FFJORD and flow matching alike: one velocity field, two losses. t = 0 is the
// base and t = 1 the data; log q(x) = log N(z) - ∫₀¹ tr ∂v/∂x dt, solved backwards from x on the
// augmented state [x, Δ] (the instantaneous change of variables, Chen et al. 2018).
import * as tf from '../../tf.ts';
import { ParamStore } from '../../flows/params.ts';
import type { Rng } from '../../random.ts';
import type { LabFlowName } from '../../../../common/lab/lab-catalog.ts';
import type { LabSettings } from '../../../../common/lab/lab-fields.ts';
import type { LabModel, LabSample } from '../lab-model.ts';
import { normalLogProb, normalPoints } from '../normal.ts';
import { solveOde, type OdeFunction, type OdeOptions } from '../ode/solve-ode.ts';
import { exactTrace, probedTrace, rademacher } from '../trace.ts';
import type { LayerContext } from '../vector-layer.ts';
import { MlpVelocity, timeColumn, type VelocityField } from './velocity-field.ts';

/** 'ffjord' trains by maximum likelihood through the ODE; 'flow-matching' regresses the velocity. */
export type ContinuousFlowName = Extract<LabFlowName, 'ffjord' | 'flow-matching'>;

export class ContinuousFlow implements LabModel {
  constructor(
    readonly flow: ContinuousFlowName,
    readonly dim: number,
    readonly settings: LabSettings,
    readonly params: ParamStore,
    private readonly field: VelocityField,
  ) {}

  logProb(x: tf.Tensor2D, ctx: LayerContext): tf.Tensor1D {
    return tf.tidy(() => {
      const { end, delta } = this.solveWithTrace(x, 1, 0, ctx);
      // dΔ/dt = tr J from Δ(1) = 0 gives Δ(0) = -∫₀¹ tr J dt.
      return tf.add(normalLogProb(end), delta);
    });
  }

  sample(n: number, ctx: LayerContext, base?: tf.Tensor2D): LabSample {
    return tf.tidy(() => {
      const z = base ?? normalPoints(n, this.dim, ctx.rng);
      const { end, delta } = this.solveWithTrace(z, 0, 1, ctx);
      return { x: end, logProb: tf.sub(normalLogProb(z), delta) };
    });
  }

  dataLoss(x: tf.Tensor2D, ctx: LayerContext): tf.Scalar {
    return this.flow === 'flow-matching' ? this.flowMatchingLoss(x, ctx.rng) : tf.tidy(() => tf.neg(tf.mean(this.logProb(x, ctx))) as tf.Scalar);
  }

  /** The points at odeSteps + 1 evenly spaced times, from t = 1 down to 0 ('to-base') or from 0 up to 1 ('to-data'). */
  stages(points: tf.Tensor2D, direction: 'to-base' | 'to-data', _ctx: LayerContext): tf.Tensor2D[] {
    const segments = this.settings.odeSteps;
    const [from, to] = direction === 'to-data' ? [0, 1] : [1, 0];
    const n = points.shape[0];
    const move: OdeFunction = (t, [x]) => [this.field.apply(x as tf.Tensor2D, timeColumn(n, t))];
    const out = [tf.clone(points)];
    for (let k = 0; k < segments; k++) {
      const prev = out[k];
      const t0 = from + ((to - from) * k) / segments;
      const t1 = from + ((to - from) * (k + 1)) / segments;
      out.push(tf.tidy(() => solveOde(move, [prev], t0, t1, this.odeOptions(1)).y[0] as tf.Tensor2D));
    }
    return out;
  }

  velocity(x: tf.Tensor2D, t: number): tf.Tensor2D {
    return tf.tidy(() => this.field.apply(x, timeColumn(x.shape[0], t)));
  }

  constrain(): void {}

  dispose(): void {
    this.params.dispose();
  }

  /**
   * Integrates the points and Δ, dΔ/dt = tr ∂v/∂x, from t0 to t1. The trace is exact in
   * evaluation (or when settings.trace asks); in training a Hutchinson estimate with one
   * Rademacher probe per row, the same probe over the whole solve (FFJORD's estimator).
   */
  private solveWithTrace(x: tf.Tensor2D, t0: number, t1: number, ctx: LayerContext): { end: tf.Tensor2D; delta: tf.Tensor1D } {
    const [n, dim] = x.shape;
    const probe = ctx.mode === 'train' && this.settings.trace === 'hutchinson' ? rademacher(n, dim, ctx.rng) : undefined;
    const dynamics: OdeFunction = (t, [xt]) =>
      tf.tidy(() => {
        const time = timeColumn(n, t);
        if (probe) {
          // One pass gives the velocity and J·ε; the trace estimate reuses that product.
          const { y, jv } = this.field.jvp(xt as tf.Tensor2D, time, probe);
          return [y, probedTrace(() => jv, probe)];
        }
        return [this.field.apply(xt as tf.Tensor2D, time), exactTrace((v) => this.field.jvp(xt as tf.Tensor2D, time, v).jv, n, dim)];
      });
    const [end, delta] = solveOde(dynamics, [x, tf.zeros([n])], t0, t1, this.odeOptions()).y;
    return { end: end as tf.Tensor2D, delta: delta as tf.Tensor1D };
  }

  /**
   * Conditional flow matching on the optimal-transport path with σ_min = 0 (Lipman et al. 2023):
   * x_t = (1 - t) x0 + t x1, x0 ~ N(0, I), t ~ U(0, 1), regressing v(x_t, t) on x1 - x0.
   */
  private flowMatchingLoss(x1: tf.Tensor2D, rng: Rng): tf.Scalar {
    return tf.tidy(() => {
      const n = x1.shape[0];
      const x0 = normalPoints(n, this.dim, rng);
      const t = tf.tensor2d(rng.fillUniform(new Float32Array(n)), [n, 1]);
      const target = tf.sub(x1, x0);
      const xt = tf.add(x0, tf.mul(t, target)) as tf.Tensor2D;
      return tf.mean(tf.sum(tf.square(tf.sub(this.field.apply(xt, t), target)), 1)) as tf.Scalar;
    });
  }

  /** The solver settings.solver names; fixed-step solvers take `steps` steps over the interval solved. */
  private odeOptions(steps = this.settings.odeSteps): OdeOptions {
    const { solver, tolerance } = this.settings;
    return solver === 'dopri5' ? { method: 'dopri5', rtol: tolerance, atol: tolerance } : { method: solver, steps };
  }
}

/** The registry's builder for either continuous family: a tanh velocity field of settings.hidden × settings.netDepth. */
export function continuousFlowBuilder(flow: ContinuousFlowName) {
  return (settings: LabSettings, dim: number, rng: Rng): ContinuousFlow => {
    const params = new ParamStore();
    const field = new MlpVelocity(params.scope('velocity'), dim, settings.hidden, settings.netDepth, rng);
    return new ContinuousFlow(flow, dim, settings, params, field);
  };
}
