// One i-ResNet block, y = x + g(x) (Behrmann et al. 2019): g is an Mlp with 1-Lipschitz activations
// whose weights spectral normalisation keeps under the Lipschitz bound, so the block is invertible.
import * as tf from '../../tf.ts';
import type { ParamScope } from '../../flows/params.ts';
import type { Rng } from '../../random.ts';
import { EXACT_LOG_DET_MAX_DIM, type LabSettings } from '../../../../common/lab/lab-fields.ts';
import { Mlp } from '../mlp.ts';
import { rademacher, type JacobianVectorProduct } from '../trace.ts';
import type { LayerContext, LayerOutput, VectorLayer } from '../vector-layer.ts';
import { exactLogDet, powerSeriesLogDet, rouletteLogDet } from './residual-log-det.ts';
import { SpectralNorm } from './spectral-norm.ts';

export type ResidualBlockSettings = Pick<LabSettings, 'hidden' | 'netDepth' | 'lipschitz' | 'logDetEstimator' | 'seriesTerms'>;

/**
 * Evaluation above EXACT_LOG_DET_MAX_DIM: a power series with many terms stands in for the exact value,
 * Residual Flows' choice of the roulette after 20 sure terms. Unbiased; with Lip(g) < 1 the coin-flip
 * terms past 20 are tiny, so nearly all its noise is the one Hutchinson probe per row.
 */
const EVAL_SURE_TERMS = 20;
/** The fixed-point inverse stops when no coordinate moves by more than this, relative to 1 + |x| (float32's reach). */
const INVERSE_TOLERANCE = 1e-6;
/** Iterations of the inverse at most; the error shrinks at least by Lip(g) per iteration. */
const INVERSE_MAX_ITERATIONS = 100;

export class ResidualBlock implements VectorLayer {
  private readonly net: Mlp;
  private readonly norms: SpectralNorm[];

  constructor(
    scope: ParamScope,
    private readonly dim: number,
    private readonly settings: ResidualBlockSettings,
    rng: Rng,
  ) {
    const sizes = [dim, ...Array<number>(settings.netDepth).fill(settings.hidden), dim];
    this.net = new Mlp(scope.child('net'), sizes, 'lipswish', rng);
    const power = scope.child('power');
    this.norms = this.net.weights.map((w, i) => new SpectralNorm(power, `u${i}`, w, settings.lipschitz, rng));
    // Invertible from the first step: the initial weights are projected as after any step.
    this.constrain();
  }

  /** y = x + g(x), with log|det(I + J_g(x))| by the estimator the settings and the mode choose. */
  forward(x: tf.Tensor2D, ctx: LayerContext): LayerOutput {
    return tf.tidy(() => {
      const { y: g, jvp } = this.net.linearise(x);
      return { out: tf.add(x, g), logDet: this.logDet(jvp, x.shape[0], ctx) } as LayerOutput;
    });
  }

  /** x with x + g(x) = y by the fixed-point iteration x ← y - g(x) (a contraction); its log|det| is minus the forward's at x. */
  inverse(y: tf.Tensor2D, ctx: LayerContext): LayerOutput {
    return tf.tidy(() => {
      const x = this.solve(y);
      const { logDet } = this.forward(x, ctx);
      return { out: x, logDet: tf.neg(logDet) } as LayerOutput;
    });
  }

  constrain(): void {
    for (const norm of this.norms) norm.project();
  }

  private logDet(jvp: JacobianVectorProduct, n: number, ctx: LayerContext): tf.Tensor1D {
    const { logDetEstimator, seriesTerms } = this.settings;
    if (this.dim <= EXACT_LOG_DET_MAX_DIM && (ctx.mode === 'eval' || logDetEstimator === 'exact')) return exactLogDet(jvp, n, this.dim);
    const probe = rademacher(n, this.dim, ctx.rng);
    if (ctx.mode === 'eval') return rouletteLogDet(jvp, probe, EVAL_SURE_TERMS, ctx.rng);
    if (logDetEstimator === 'power-series') return powerSeriesLogDet(jvp, probe, seriesTerms);
    return rouletteLogDet(jvp, probe, seriesTerms, ctx.rng);
  }

  /** The fixed point, not differentiated through: the family trains by likelihood (the forward direction) only. */
  private solve(y: tf.Tensor2D): tf.Tensor2D {
    let x = tf.tidy(() => tf.sub(y, this.net.apply(y)) as tf.Tensor2D);
    for (let i = 0; i < INVERSE_MAX_ITERATIONS; i++) {
      const next = tf.tidy(() => tf.sub(y, this.net.apply(x)) as tf.Tensor2D);
      const change = tf.tidy(() => tf.max(tf.div(tf.abs(tf.sub(next, x)), tf.add(1, tf.abs(next)))));
      const moved = change.dataSync()[0];
      change.dispose();
      x.dispose();
      x = next;
      if (moved < INVERSE_TOLERANCE) break;
    }
    return x;
  }
}
