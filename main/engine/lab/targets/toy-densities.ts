// True log-densities of the sample targets whose sampler implies one in closed form or by a
// one-dimensional quadrature: checkerboard, 8 Gaussians and rings (toy-samplers.ts's constants).
import type { LabSampleTargetName } from '../../../../common/lab/lab-catalog.ts';
import { logSumExp } from './grid.ts';
import { EIGHT_GAUSSIANS, RINGS, eightDirections } from './toy-samplers.ts';

/** log-density of row-major (x, y) points. */
export type PlaneLogDensity = (points: ArrayLike<number>) => Float64Array;

const LOG_TWO_PI = Math.log(2 * Math.PI);

function perPoint(points: ArrayLike<number>, logDensity: (x: number, y: number) => number): Float64Array {
  const out = new Float64Array(points.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = logDensity(points[2 * i], points[2 * i + 1]);
  return out;
}

/** Uniform on the sampler's 8 squares: [-4, 4)², cells of side 2 whose indices ⌊x/2⌋ + ⌊y/2⌋ are even. Area 32. */
function checkerboard(points: ArrayLike<number>): Float64Array {
  const inside = -Math.log(32);
  return perPoint(points, (x, y) => {
    if (!(x >= -4 && x < 4 && y >= -4 && y < 4)) return -Infinity;
    return (Math.floor(x / 2) + Math.floor(y / 2)) % 2 === 0 ? inside : -Infinity;
  });
}

/** The equal-weight mixture the sampler draws: means 4u/1.414, isotropic std 0.5/1.414. */
function eightGaussians(points: ArrayLike<number>): Float64Array {
  const { scale, std, divisor } = EIGHT_GAUSSIANS;
  const sigma = std / divisor;
  const means = eightDirections().map(([cx, cy]) => [(scale * cx) / divisor, (scale * cy) / divisor]);
  const norm = -Math.log(8) - LOG_TWO_PI - 2 * Math.log(sigma);
  const terms = new Float64Array(8);
  return perPoint(points, (x, y) => {
    means.forEach(([mx, my], k) => {
      terms[k] = -((x - mx) ** 2 + (y - my) ** 2) / (2 * sigma * sigma);
    });
    return logSumExp(terms) + norm;
  });
}

/** Trapezoid intervals on [0, π] for the rings' angular integral (see logScaledBesselI0). */
export const RING_QUADRATURE_INTERVALS = 256;
/** Quadrature terms below exp(-60) of the largest are dropped (they cannot change a float64 sum). */
const NEGLIGIBLE_EXPONENT = 60;
const COS_NODES = Float64Array.from({ length: RING_QUADRATURE_INTERVALS + 1 }, (_, j) => Math.cos((Math.PI * j) / RING_QUADRATURE_INTERVALS));

/**
 * log(e^{-z} I0(z)) = log (1/π) ∫_0^π e^{z (cos t - 1)} dt for z ≥ 0, by the trapezoid rule on
 * RING_QUADRATURE_INTERVALS intervals. The integrand is smooth, even and 2π-periodic, so the rule
 * converges geometrically; the integrand is monotone in t, so the sum stops once its terms
 * underflow the leading one. The test suite checks it against the large-z asymptotic series.
 */
export function logScaledBesselI0(z: number): number {
  const h = Math.PI / RING_QUADRATURE_INTERVALS;
  let sum = 0.5; // t = 0 node, half weight; the integrand there is 1
  for (let j = 1; j <= RING_QUADRATURE_INTERVALS; j++) {
    const exponent = z * (COS_NODES[j] - 1);
    if (exponent < -NEGLIGIBLE_EXPONENT) break;
    sum += (j === RING_QUADRATURE_INTERVALS ? 0.5 : 1) * Math.exp(exponent);
  }
  return Math.log((sum * h) / Math.PI);
}

/**
 * The rings' density as the sampler's point count grows: an equal-weight mixture over the four
 * circles of a uniform angle θ plus N(0, σ²I) noise. Per circle of radius r, at distance ρ from
 * the origin, (1/2π) ∫ N(x; r(cos θ, sin θ), σ²I) dθ = exp(-(ρ - r)²/2σ²) · e^{-z}I0(z) / (2πσ²)
 * with z = ρr/σ²: a quadrature over the angle (logScaledBesselI0). A draw of n points puts its
 * angles on a fixed grid of spacing 8π/n and ⌊n/4⌋ or the rest on each circle (weights within
 * 3/n of 1/4); the grid is finer than the noise on the outer circle (σ/r = 0.027 rad) from
 * n ≈ 1000, and KL estimates draw 10,000.
 */
function rings(points: ArrayLike<number>): Float64Array {
  const s2 = RINGS.noise * RINGS.noise;
  const norm = -Math.log(RINGS.radii.length) - LOG_TWO_PI - Math.log(s2);
  const terms = new Float64Array(RINGS.radii.length);
  return perPoint(points, (x, y) => {
    const rho = Math.hypot(x, y);
    RINGS.radii.forEach((r, k) => {
      terms[k] = -((rho - r) ** 2) / (2 * s2) + logScaledBesselI0((rho * r) / s2);
    });
    return logSumExp(terms) + norm;
  });
}

/** The sample targets whose true density is known (LAB_SAMPLE_TARGETS[..].exact). */
export const TOY_LOG_DENSITIES: Partial<Record<LabSampleTargetName, PlaneLogDensity>> = {
  '8gaussians': eightGaussians,
  checkerboard,
  rings,
};
