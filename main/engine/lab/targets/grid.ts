// Midpoint grids over a two-dimensional box, and integrals of exp(log f) over them in float64:
// log Z of energies, and the checks that a density integrates to one.
import type { Bounds } from './target.ts';

export interface PlaneGrid {
  /** Cell centres, row-major (x fastest), as (x, y) pairs. */
  readonly points: Float32Array;
  readonly cellArea: number;
}

/** The centres of `cells` x `cells` equal cells covering `bounds`. */
export function planeGrid(bounds: Bounds, cells: number): PlaneGrid {
  const [[x0, x1], [y0, y1]] = bounds;
  const dx = (x1 - x0) / cells;
  const dy = (y1 - y0) / cells;
  const points = new Float32Array(cells * cells * 2);
  for (let i = 0; i < cells; i++) {
    for (let j = 0; j < cells; j++) {
      const k = 2 * (i * cells + j);
      points[k] = x0 + (j + 0.5) * dx;
      points[k + 1] = y0 + (i + 0.5) * dy;
    }
  }
  return { points, cellArea: dx * dy };
}

/** log Σ exp(values), without overflow; -Infinity for no mass. NaN propagates. */
export function logSumExp(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) return NaN;
    if (values[i] > max) max = values[i];
  }
  if (max === -Infinity || max === Infinity) return max;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.exp(values[i] - max);
  return max + Math.log(sum);
}

/** log ∫ f by the midpoint rule, given log f at the grid's cell centres. */
export function logIntegral(logValues: ArrayLike<number>, grid: PlaneGrid): number {
  return logSumExp(logValues) + Math.log(grid.cellArea);
}

/** `bounds` grown by `margin` on every side. */
export function widen(bounds: Bounds, margin: number): Bounds {
  return bounds.map(([lo, hi]) => [lo - margin, hi + margin] as const);
}
