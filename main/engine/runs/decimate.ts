// Curves sent to the page are decimated: a long run's hundreds of thousands of per-step losses
// become a few thousand points that draw the same picture. Each bucket keeps its lowest and
// highest point (spikes and dips survive, unlike averaging or striding) and the newest points
// stay exact, so the line ends where training is now.

/** Points per series the Api sends at most (buckets x 2, plus the exact tail). */
export const CURVE_POINTS = 3000;
/** The newest points kept exactly as logged. */
export const EXACT_TAIL = 200;

/**
 * `points` in order, thinned to at most `limit` by min/max per bucket of consecutive points,
 * the last `tail` kept whole. `valueOf` reads the value a bucket's extremes are judged by.
 */
export function decimateMinMax<T>(points: readonly T[], valueOf: (p: T) => number, limit = CURVE_POINTS, tail = EXACT_TAIL): T[] {
  if (points.length <= limit) return points.slice();
  const exactFrom = points.length - Math.min(tail, limit - 2);
  const buckets = Math.max(1, Math.floor((limit - (points.length - exactFrom)) / 2));
  const size = exactFrom / buckets;
  const out: T[] = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor(b * size);
    const end = Math.min(exactFrom, Math.floor((b + 1) * size));
    if (end <= start) continue;
    let lo = start;
    let hi = start;
    for (let i = start + 1; i < end; i++) {
      const v = valueOf(points[i]);
      if (v < valueOf(points[lo])) lo = i;
      if (v > valueOf(points[hi])) hi = i;
    }
    // In order of position, so the line still runs left to right.
    if (lo === hi) out.push(points[lo]);
    else out.push(points[Math.min(lo, hi)], points[Math.max(lo, hi)]);
  }
  for (let i = exactFrom; i < points.length; i++) out.push(points[i]);
  return out;
}
