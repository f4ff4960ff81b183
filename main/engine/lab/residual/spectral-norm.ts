// Spectral normalisation as a projection (i-ResNet's constraint, Behrmann et al. 2019): after each
// optimizer step, a weight whose largest singular value passes the bound is scaled back under it.
import * as tf from '../../tf.ts';
import type { ParamScope } from '../../flows/params.ts';
import type { Rng } from '../../random.ts';

/**
 * Power iteration gives σ from below; it stops when σ changes by less than this (relative), which
 * leaves it far closer to the true value than PROJECTION_MARGIN even when the top two singular
 * values are close (the error is then at most about the square root of this).
 */
const CONVERGED = 1e-10;
/** Enough from a random start (the first projection); from the kept vector a step needs a few. */
const MAX_ITERATIONS = 500;
/** A projected weight lands at bound·(1 - margin), so σ's estimation error cannot carry it past the bound. */
const PROJECTION_MARGIN = 1e-3;

export class SpectralNorm {
  /** Estimate of the top left singular vector (over W's rows), kept between steps and saved with the weights. */
  private readonly left: tf.Variable;

  constructor(
    scope: ParamScope,
    name: string,
    private readonly weight: tf.Variable,
    private readonly bound: number,
    rng: Rng,
  ) {
    const rows = weight.shape[0];
    const start = rng.fillNormal(new Float32Array(rows));
    this.left = scope.buffer(name, tf.tensor1d(scaleToUnit(start)));
  }

  /** The largest singular value of the weight, by power iteration in float64 from the kept vector (which it updates). */
  estimate(): number {
    const [rows, cols] = this.weight.shape;
    const w = this.weight.dataSync();
    const u = Float64Array.from(this.left.dataSync());
    const v = new Float64Array(cols);
    let sigma = 0;
    for (let it = 0; it < MAX_ITERATIONS; it++) {
      v.fill(0);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) v[c] += w[r * cols + c] * u[r];
      if (norm(v) === 0) return 0;
      scaleToUnit(v);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += w[r * cols + c] * v[c];
        u[r] = s;
      }
      const previous = sigma;
      sigma = norm(u);
      scaleToUnit(u);
      if (Math.abs(sigma - previous) <= CONVERGED * sigma) break;
    }
    tf.tidy(() => this.left.assign(tf.tensor1d(Float32Array.from(u))));
    return sigma;
  }

  /** Scales the weight under the bound if its largest singular value is above it; called after each optimizer step. */
  project(): void {
    const target = this.bound * (1 - PROJECTION_MARGIN);
    const sigma = this.estimate();
    if (sigma > target) tf.tidy(() => this.weight.assign(tf.mul(this.weight, target / sigma)));
  }
}

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

function scaleToUnit<T extends Float32Array | Float64Array>(a: T): T {
  const n = norm(a);
  if (n > 0) for (let i = 0; i < a.length; i++) a[i] /= n;
  return a;
}
