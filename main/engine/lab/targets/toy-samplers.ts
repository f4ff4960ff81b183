// The seven two-dimensional sample targets, drawn as rtqichen/ffjord's lib/toy_data.py draws them
// (same constants, same steps, including its fixed angle grids), with a seeded Rng for numpy.
import type { LabSampleTargetName } from '../../../../common/lab/lab-catalog.ts';
import type { Rng } from '../../random.ts';

/** `n` points, row-major (x, y), from `rng`. */
export type ToySampler = (n: number, rng: Rng) => Float32Array;

/** toy_data's 8 Gaussians: std 0.5 around 8 unit directions scaled by 4, all divided by 1.414 (not √2). */
export const EIGHT_GAUSSIANS = { scale: 4, std: 0.5, divisor: 1.414 } as const;
/** toy_data's rings: four circles of radius 3·{1, 0.75, 0.5, 0.25}, noise std 0.08. */
export const RINGS = { radii: [3, 2.25, 1.5, 0.75], noise: 0.08 } as const;

/** The eight unit directions in toy_data's order. */
export function eightDirections(): [number, number][] {
  const h = 1 / Math.sqrt(2);
  return [[1, 0], [-1, 0], [0, 1], [0, -1], [h, h], [h, -h], [-h, h], [-h, -h]];
}

/** numpy.linspace. */
function linspace(start: number, stop: number, num: number, endpoint: boolean): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (endpoint ? Math.max(num - 1, 1) : num);
  for (let i = 0; i < num; i++) out[i] = start + i * step;
  return out;
}

/** Rows of `xy` (pairs) in the order of a seeded permutation, as sklearn.utils.shuffle and numpy's permutation do. */
function shuffleRows(xy: Float64Array, rng: Rng): Float64Array {
  const n = xy.length / 2;
  const order = rng.permutation(n);
  const out = new Float64Array(xy.length);
  for (let i = 0; i < n; i++) {
    out[2 * i] = xy[2 * order[i]];
    out[2 * i + 1] = xy[2 * order[i] + 1];
  }
  return out;
}

function eightGaussians(n: number, rng: Rng): Float32Array {
  const { scale, std, divisor } = EIGHT_GAUSSIANS;
  const centers = eightDirections();
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const px = rng.normal() * std;
    const py = rng.normal() * std;
    const [cx, cy] = centers[rng.int(8)];
    out[2 * i] = (px + scale * cx) / divisor;
    out[2 * i + 1] = (py + scale * cy) / divisor;
  }
  return out;
}

/**
 * toy_data's rings: ⌊n/4⌋ points on each of the three outer circles and the rest on the inner
 * one, at evenly spaced angles (endpoint excluded), shuffled, then Gaussian noise. (toy_data
 * builds the 0.75 circle's x from the outer circle's angles; both grids have ⌊n/4⌋ points, so
 * they are the same grid.)
 */
function rings(n: number, rng: Rng): Float32Array {
  const quarter = Math.floor(n / 4);
  const counts = [quarter, quarter, quarter, n - 3 * quarter];
  const xy = new Float64Array(2 * n);
  let k = 0;
  RINGS.radii.forEach((radius, ring) => {
    for (const angle of linspace(0, 2 * Math.PI, counts[ring], false)) {
      xy[k++] = Math.cos(angle) * radius;
      xy[k++] = Math.sin(angle) * radius;
    }
  });
  const shuffled = shuffleRows(xy, rng);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < out.length; i++) out[i] = shuffled[i] + rng.normal() * RINGS.noise;
  return out;
}

/**
 * sklearn.datasets.make_moons(n, noise=0.1) (shuffled), then toy_data's `* 2 + [-1, -0.2]`.
 * make_moons: ⌊n/2⌋ points (cos s, sin s) and the rest (1 - cos s, 1 - sin s - 0.5), s evenly
 * spaced on [0, π] endpoints included; rows shuffled; N(0, noise²) added to every coordinate.
 */
function moons(n: number, rng: Rng): Float32Array {
  const outer = Math.floor(n / 2);
  const xy = new Float64Array(2 * n);
  let k = 0;
  for (const s of linspace(0, Math.PI, outer, true)) {
    xy[k++] = Math.cos(s);
    xy[k++] = Math.sin(s);
  }
  for (const s of linspace(0, Math.PI, n - outer, true)) {
    xy[k++] = 1 - Math.cos(s);
    xy[k++] = 1 - Math.sin(s) - 0.5;
  }
  const shuffled = shuffleRows(xy, rng);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    out[2 * i] = (shuffled[2 * i] + 0.1 * rng.normal()) * 2 - 1;
    out[2 * i + 1] = (shuffled[2 * i + 1] + 0.1 * rng.normal()) * 2 - 0.2;
  }
  return out;
}

/**
 * sklearn.datasets.make_swiss_roll(n, noise=1.0), keeping toy_data's columns 0 and 2, divided
 * by 5. make_swiss_roll: t = 1.5π(1 + 2u), u uniform; the point (t cos t, 21v, t sin t) plus
 * N(0, noise²) on each coordinate; the dropped middle column does not change the two kept.
 */
function swissroll(n: number, rng: Rng): Float32Array {
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = 1.5 * Math.PI * (1 + 2 * rng.next());
    out[2 * i] = (t * Math.cos(t) + rng.normal()) / 5;
    out[2 * i + 1] = (t * Math.sin(t) + rng.normal()) / 5;
  }
  return out;
}

/**
 * toy_data's pinwheel: 5 arms; features N(1, 0.3²) radially and N(0, 0.1²) tangentially, turned
 * by the arm's angle plus 0.25·exp(radial) (toy_data's row-vector product with [[c, -s], [s, c]]),
 * doubled, rows permuted. toy_data returns 5⌊n/5⌋ points; here the n mod 5 extra points go to
 * arms 0, 1, ... so exactly n come back.
 */
function pinwheel(n: number, rng: Rng): Float32Array {
  const arms = 5;
  const xy = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const arm = i < arms * Math.floor(n / arms) ? Math.floor(i / Math.floor(n / arms)) : i % arms;
    const f0 = rng.normal() * 0.3 + 1;
    const f1 = rng.normal() * 0.1;
    const angle = (2 * Math.PI * arm) / arms + 0.25 * Math.exp(f0);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    xy[2 * i] = 2 * (f0 * c + f1 * s);
    xy[2 * i + 1] = 2 * (-f0 * s + f1 * c);
  }
  return Float32Array.from(shuffleRows(xy, rng));
}

/**
 * toy_data's two spirals: m = ⌈n/2⌉ draws of n = √u · 3π, d = (-n cos n + a, n sin n + b) with
 * a, b uniform on [0, 0.5); the rows are d then -d (the second spiral mirrors the first's draws,
 * as in toy_data), divided by 3, plus N(0, 0.1²). toy_data returns 2⌊n/2⌋ points; for odd n the
 * last mirror row is dropped so exactly n come back.
 */
function twoSpirals(n: number, rng: Rng): Float32Array {
  const m = Math.ceil(n / 2);
  const d = new Float64Array(2 * m);
  for (let i = 0; i < m; i++) {
    const t = Math.sqrt(rng.next()) * 3 * Math.PI;
    d[2 * i] = -Math.cos(t) * t + rng.next() * 0.5;
    d[2 * i + 1] = Math.sin(t) * t + rng.next() * 0.5;
  }
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const sign = i < m ? 1 : -1;
    const row = i < m ? i : i - m;
    out[2 * i] = (sign * d[2 * row]) / 3 + 0.1 * rng.normal();
    out[2 * i + 1] = (sign * d[2 * row + 1]) / 3 + 0.1 * rng.normal();
  }
  return out;
}

/**
 * toy_data's checkerboard: x1 uniform on [-2, 2); x2 uniform on [0, 1) minus 0 or 2 (a fair
 * coin) plus ⌊x1⌋ mod 2; both doubled: uniform on 8 squares of side 2 in [-4, 4)².
 */
function checkerboard(n: number, rng: Rng): Float32Array {
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const x1 = rng.next() * 4 - 2;
    const x2 = rng.next() - rng.int(2) * 2 + (((Math.floor(x1) % 2) + 2) % 2);
    out[2 * i] = x1 * 2;
    out[2 * i + 1] = x2 * 2;
  }
  return out;
}

export const TOY_SAMPLERS: Readonly<Record<LabSampleTargetName, ToySampler>> = {
  '8gaussians': eightGaussians,
  checkerboard,
  rings,
  moons,
  pinwheel,
  swissroll,
  '2spirals': twoSpirals,
};
