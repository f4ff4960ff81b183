// Points a person drew with the mouse as a target: samples are the points with a small Gaussian
// jitter, so the true density is exactly the kernel density estimate with that bandwidth.
import { ConfigError } from '../../errors.ts';
import type { Rng } from '../../random.ts';
import { logSumExp } from './grid.ts';
import { PLANE_BOUNDS, type Bounds, type Target } from './target.ts';

/** Standard deviation of the jitter (the KDE's bandwidth), in the plane's units: 1/50 of the 8-wide box. */
export const DRAWN_JITTER = 0.16;
/** More points than this are refused (the density costs one term per point). */
export const MAX_DRAWN_POINTS = 20_000;

function checkPoints(points: readonly (readonly number[])[]): void {
  if (!Array.isArray(points) || points.length === 0) throw new ConfigError('BAD_ARGUMENT', 'Drawn points: there are none; draw at least one point.');
  if (points.length > MAX_DRAWN_POINTS) {
    throw new ConfigError('BAD_ARGUMENT', `Drawn points: ${points.length} is more than the ${MAX_DRAWN_POINTS} the Lab takes; draw fewer.`);
  }
  points.forEach((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) throw new ConfigError('BAD_ARGUMENT', `Drawn points: point ${i + 1} is not an (x, y) pair.`);
    if (!p.every(Number.isFinite)) throw new ConfigError('BAD_ARGUMENT', `Drawn points: point ${i + 1} has a coordinate that is not a finite number.`);
  });
}

/** The plane's box, grown where needed to hold every point and three bandwidths around it. */
function boundsAround(points: readonly (readonly number[])[]): Bounds {
  return PLANE_BOUNDS.map(([lo, hi], k) => {
    const values = points.map((p) => p[k]);
    return [Math.min(lo, Math.min(...values) - 3 * DRAWN_JITTER), Math.max(hi, Math.max(...values) + 3 * DRAWN_JITTER)] as const;
  });
}

export function drawnPointsTarget(points: readonly (readonly number[])[]): Target {
  checkPoints(points);
  const m = points.length;
  const xs = Float64Array.from(points, (p) => p[0]);
  const ys = Float64Array.from(points, (p) => p[1]);
  const h2 = DRAWN_JITTER * DRAWN_JITTER;
  const norm = -Math.log(m) - Math.log(2 * Math.PI * h2);
  return {
    kind: 'samples',
    dim: 2,
    label: `Drawn points (${m})`,
    bounds: boundsAround(points),
    sample(n: number, rng: Rng): Float32Array {
      const out = new Float32Array(2 * n);
      for (let i = 0; i < n; i++) {
        const k = rng.int(m);
        out[2 * i] = xs[k] + DRAWN_JITTER * rng.normal();
        out[2 * i + 1] = ys[k] + DRAWN_JITTER * rng.normal();
      }
      return out;
    },
    logDensity(query: ArrayLike<number>): Float64Array {
      const out = new Float64Array(query.length / 2);
      const terms = new Float64Array(m);
      for (let i = 0; i < out.length; i++) {
        const [x, y] = [query[2 * i], query[2 * i + 1]];
        for (let k = 0; k < m; k++) terms[k] = -((x - xs[k]) ** 2 + (y - ys[k]) ** 2) / (2 * h2);
        out[i] = logSumExp(terms) + norm;
      }
      return out;
    },
  };
}
