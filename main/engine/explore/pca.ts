// Principal component analysis in plain JS for the latent projector: the top k axes of n rows of
// d values by block power iteration on XᵀX, never forming the d x d covariance (d is a whole
// image's latent, up to 12,288 values; n at most a few thousand rows).

export interface Pca {
  /** Each row's coordinates on the axes: n x k, row-major. */
  coords: Float64Array;
  /** The unit axes, k x d, row-major; each one's largest-magnitude entry is positive. */
  axes: Float64Array;
  /** Fraction of the total variance along each axis. */
  explained: number[];
}

/** Power iterations at most; the subspace usually settles in a few dozen. */
const MAX_ITERATIONS = 300;
/** Stop when no axis moves more than this (1 - |cos| between successive iterates). */
const TOLERANCE = 1e-10;

/** The top `k` principal axes of `rows` (n x d, row-major) and every row's coordinates on them. */
export function pca(rows: Float32Array | Float64Array, n: number, d: number, k = 2): Pca {
  if (rows.length !== n * d) throw new RangeError(`pca: ${rows.length} values are not ${n} rows of ${d}.`);
  if (k < 1 || k > Math.min(n, d)) throw new RangeError(`pca: cannot take ${k} axes from ${n} rows of ${d}.`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += rows[i * d + j] / n;
  const x = new Float64Array(n * d);
  let total = 0;
  for (let i = 0; i < n * d; i++) {
    x[i] = rows[i] - mean[i % d];
    total += x[i] * x[i];
  }
  // Start from fixed, distinct vectors so the result does not depend on a random seed.
  let axes: Float64Array = new Float64Array(k * d);
  for (let a = 0; a < k; a++) for (let j = 0; j < d; j++) axes[a * d + j] = Math.cos((a + 1) * (j + 1) * 0.7) + (j % (a + 2) === 0 ? 1 : 0);
  orthonormalise(axes, k, d);
  for (let it = 0; it < MAX_ITERATIONS; it++) {
    const next = multiplyGram(x, n, d, axes, k);
    orthonormalise(next, k, d);
    let moved = 0;
    for (let a = 0; a < k; a++) moved = Math.max(moved, 1 - Math.abs(dot(next, a * d, axes, a * d, d)));
    axes = next;
    if (moved < TOLERANCE) break;
  }
  const coords = new Float64Array(n * k);
  const explained: number[] = [];
  for (let a = 0; a < k; a++) {
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(axes[a * d + j]) > Math.abs(big)) big = axes[a * d + j];
    if (big < 0) for (let j = 0; j < d; j++) axes[a * d + j] = -axes[a * d + j];
    let variance = 0;
    for (let i = 0; i < n; i++) {
      const c = dot(x, i * d, axes, a * d, d);
      coords[i * k + a] = c;
      variance += c * c;
    }
    explained.push(total > 0 ? variance / total : 0);
  }
  // Block power iteration returns the top-k subspace; order its axes by variance, largest first.
  const order = explained.map((_, a) => a).sort((p, q) => explained[q] - explained[p]);
  return {
    coords: Float64Array.from({ length: n * k }, (_, i) => coords[Math.floor(i / k) * k + order[i % k]]),
    axes: Float64Array.from({ length: k * d }, (_, i) => axes[order[Math.floor(i / d)] * d + (i % d)]),
    explained: order.map((a) => explained[a]),
  };
}

function dot(a: Float64Array, at: number, b: Float64Array, bt: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += a[at + j] * b[bt + j];
  return s;
}

/** Xᵀ(X v) for each of the k vectors v. */
function multiplyGram(x: Float64Array, n: number, d: number, v: Float64Array, k: number): Float64Array {
  const out = new Float64Array(k * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < k; a++) {
      const c = dot(x, i * d, v, a * d, d);
      for (let j = 0; j < d; j++) out[a * d + j] += c * x[i * d + j];
    }
  }
  return out;
}

/** Gram-Schmidt in place; a vector that vanishes (rank below k) becomes a fresh unit vector. */
function orthonormalise(v: Float64Array, k: number, d: number): void {
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < a; b++) {
      const c = dot(v, a * d, v, b * d, d);
      for (let j = 0; j < d; j++) v[a * d + j] -= c * v[b * d + j];
    }
    let norm = Math.sqrt(dot(v, a * d, v, a * d, d));
    if (norm < 1e-300) {
      v.fill(0, a * d, (a + 1) * d);
      v[a * d + (a % d)] = 1;
      norm = 1;
    }
    for (let j = 0; j < d; j++) v[a * d + j] /= norm;
  }
}
