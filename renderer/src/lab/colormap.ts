// How the Lab paints a density: a perceptually even map (viridis, by its five anchor colours) from
// no density to the grid's peak, linear in the density or in its logarithm over 12 nats.
import type { LabBox } from '../../../preload/api.ts';

const VIRIDIS: [number, number, number][] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

/** The colour at u in [0, 1]. */
export function viridis(u: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, u)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  return [0, 1, 2].map((c) => Math.round(VIRIDIS[i][c] + f * (VIRIDIS[i + 1][c] - VIRIDIS[i][c]))) as [number, number, number];
}

/** Nats below the peak that the log scale shows; lower is the map's floor. */
export const LOG_RANGE = 12;

/** RGBA pixels of a res×res log-density grid (null: no density). */
export function densityPixels(logp: readonly (number | null)[], res: number, log: boolean): Uint8ClampedArray {
  let max = -Infinity;
  for (const v of logp) if (v !== null && v > max) max = v;
  const out = new Uint8ClampedArray(res * res * 4);
  logp.forEach((v, i) => {
    const u = v === null || !Number.isFinite(max) ? 0 : log ? 1 + (v - max) / LOG_RANGE : Math.exp(v - max);
    const [r, g, b] = viridis(u);
    out.set([r, g, b, 255], i * 4);
  });
  return out;
}

/** Maps data coordinates in `box` to canvas pixels of a `w`×`h` canvas (y up). */
export function toCanvas(box: LabBox, w: number, h: number): (x: number, y: number) => [number, number] {
  const [[x0, x1], [y0, y1]] = box;
  return (x, y) => [((x - x0) / (x1 - x0)) * w, ((y1 - y) / (y1 - y0)) * h];
}
