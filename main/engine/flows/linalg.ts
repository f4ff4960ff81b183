// Small dense linear algebra in float64 for the invertible 1x1 convolution: TensorFlow.js has
// no QR, LU, inverse or determinant, and these C x C matrices are tiny, so plain JS is exact enough.

/** Row-major square matrix of size n. */
export interface Matrix {
  n: number;
  data: Float64Array;
}

export function identity(n: number): Matrix {
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return { n, data };
}

export function matmul(a: Matrix, b: Matrix): Matrix {
  const { n } = a;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a.data[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b.data[k * n + j];
    }
  }
  return { n, data: out };
}

/** A random rotation (orthogonal, det +1) from Gram-Schmidt on Gaussian columns. */
export function randomRotation(n: number, normal: () => number): Matrix {
  const q = new Float64Array(n * n);
  for (let col = 0; col < n; col++) {
    for (;;) {
      const v = new Float64Array(n);
      for (let i = 0; i < n; i++) v[i] = normal();
      for (let prev = 0; prev < col; prev++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += v[i] * q[i * n + prev];
        for (let i = 0; i < n; i++) v[i] -= dot * q[i * n + prev];
      }
      let norm = 0;
      for (let i = 0; i < n; i++) norm += v[i] * v[i];
      norm = Math.sqrt(norm);
      if (norm < 1e-8) continue; // degenerate draw; try again
      for (let i = 0; i < n; i++) q[i * n + col] = v[i] / norm;
      break;
    }
  }
  const m = { n, data: q };
  if (determinantSign(m) < 0) {
    for (let i = 0; i < n; i++) q[i * n] = -q[i * n];
  }
  return m;
}

export interface LuDecomposition {
  /** perm[i] = row of the original matrix that became row i: A = P L U with P[perm[i], i] = 1. */
  perm: Int32Array;
  /** Unit lower-triangular factor. */
  lower: Matrix;
  /** Upper-triangular factor with the pivots on its diagonal. */
  upper: Matrix;
}

/** LU with partial pivoting: A = P L U. Throws on a singular matrix. */
export function luDecompose(a: Matrix): LuDecomposition {
  const { n } = a;
  const m = Float64Array.from(a.data);
  const rows = new Int32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  for (let k = 0; k < n; k++) {
    let pivot = k;
    for (let i = k + 1; i < n; i++) {
      if (Math.abs(m[i * n + k]) > Math.abs(m[pivot * n + k])) pivot = i;
    }
    if (Math.abs(m[pivot * n + k]) < 1e-12) throw new Error('matrix is singular');
    if (pivot !== k) {
      for (let j = 0; j < n; j++) {
        const t = m[k * n + j];
        m[k * n + j] = m[pivot * n + j];
        m[pivot * n + j] = t;
      }
      const t = rows[k];
      rows[k] = rows[pivot];
      rows[pivot] = t;
    }
    for (let i = k + 1; i < n; i++) {
      const f = (m[i * n + k] /= m[k * n + k]);
      for (let j = k + 1; j < n; j++) m[i * n + j] -= f * m[k * n + j];
    }
  }
  const lower = identity(n);
  const upper = { n, data: new Float64Array(n * n) };
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (j < i) lower.data[i * n + j] = m[i * n + j];
      else upper.data[i * n + j] = m[i * n + j];
    }
  }
  return { perm: rows, lower, upper };
}

function determinantSign(a: Matrix): number {
  const { perm, upper } = luDecompose(a);
  let sign = permutationSign(perm);
  for (let i = 0; i < a.n; i++) if (upper.data[i * a.n + i] < 0) sign = -sign;
  return sign;
}

function permutationSign(perm: Int32Array): number {
  const seen = new Uint8Array(perm.length);
  let sign = 1;
  for (let i = 0; i < perm.length; i++) {
    if (seen[i]) continue;
    let len = 0;
    for (let j = i; !seen[j]; j = perm[j]) {
      seen[j] = 1;
      len++;
    }
    if (len % 2 === 0) sign = -sign;
  }
  return sign;
}

/** log|det A| through LU; -Infinity for a singular matrix. */
export function logAbsDeterminant(a: Matrix): number {
  let lu: LuDecomposition;
  try {
    lu = luDecompose(a);
  } catch {
    return -Infinity;
  }
  let sum = 0;
  for (let i = 0; i < a.n; i++) sum += Math.log(Math.abs(lu.upper.data[i * a.n + i]));
  return sum;
}

/** Inverse of a matrix by solving A X = I column by column with its LU factors. */
export function invert(a: Matrix): Matrix {
  const { n } = a;
  const { perm, lower, upper } = luDecompose(a);
  const out = new Float64Array(n * n);
  const y = new Float64Array(n);
  for (let col = 0; col < n; col++) {
    // Row i of P^T e_col is 1 where perm[i] === col.
    for (let i = 0; i < n; i++) {
      let s = perm[i] === col ? 1 : 0;
      for (let j = 0; j < i; j++) s -= lower.data[i * n + j] * y[j];
      y[i] = s;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i];
      for (let j = i + 1; j < n; j++) s -= upper.data[i * n + j] * out[j * n + col];
      out[i * n + col] = s / upper.data[i * n + i];
    }
  }
  return { n, data: out };
}
