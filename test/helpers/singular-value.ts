// The largest singular value of a small dense matrix, exactly (to float64 rounding): the largest
// eigenvalue of its Gram matrix by cyclic Jacobi rotations. Checks spectral normalisation.

/** σ_max of the row-major `rows` x `cols` matrix `a`. */
export function largestSingularValue(a: ArrayLike<number>, rows: number, cols: number): number {
  // The Gram matrix on the smaller side has the same nonzero eigenvalues σ².
  const n = Math.min(rows, cols);
  const at = (i: number, j: number, byRow: boolean) => (byRow ? a[i * cols + j] : a[j * cols + i]);
  const byRow = rows <= cols;
  const inner = byRow ? cols : rows;
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < inner; k++) s += at(i, k, byRow) * at(j, k, byRow);
      g[i * n + j] = s;
    }
  }
  return Math.sqrt(Math.max(0, ...symmetricEigenvalues(g, n)));
}

/** Eigenvalues of a symmetric n x n matrix (row-major, overwritten) by cyclic Jacobi sweeps. */
function symmetricEigenvalues(m: Float64Array, n: number): number[] {
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (apq === 0) continue;
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // m ← Rᵀ m R with the rotation R in the (p, q) plane: columns, then rows.
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p];
          const mkq = m[k * n + q];
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k];
          const mqk = m[q * n + k];
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => m[i * n + i]);
}
