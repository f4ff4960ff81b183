// What the Lab view computes from what the Api sends: two columns of a table's rows as points, a
// box around them, a ranking as CSV, and a dropped image's brightness (read in the page, scaled so
// its longer side is at most LAB_IMAGE_SIDE pixels).
import type { LabBox, LabRanking } from '../../../preload/api.ts';

/** A dropped image is scaled to at most this many pixels a side before it travels (the Api allows 256). */
export const LAB_IMAGE_SIDE = 96;

/** Columns `cx` and `cy` of row-major rows of `dim` values, as pairs. */
export function projectPairs(rows: readonly number[], dim: number, cx: number, cy: number): number[] {
  const out: number[] = [];
  for (let i = 0; i + dim <= rows.length; i += dim) out.push(rows[i + cx], rows[i + cy]);
  return out;
}

/** A box holding the middle 98% of `pairs` on each axis, with a margin (default: the plane's [-4, 4]²). */
export function projectedBox(pairs: readonly number[]): LabBox {
  const span = (k: number): [number, number] => {
    const v = pairs.filter((_, i) => i % 2 === k && Number.isFinite(pairs[i])).sort((a, b) => a - b);
    if (v.length < 2) return [-4, 4];
    const lo = v[Math.floor(v.length * 0.01)];
    const hi = v[Math.floor(v.length * 0.99)];
    const margin = 0.1 * (hi - lo || 1);
    return [lo - margin, hi + margin];
  };
  return [span(0), span(1)];
}

/** The ranked rows as a CSV file: line, NLL, whether held out, then the values. */
export function rankingCsv(r: LabRanking): string {
  const header = ['line', 'nll', 'held_out', ...Array.from({ length: r.columns }, (_, c) => `column_${c + 1}`)].join(',');
  return `${[header, ...r.rows.map((row) => [row.line, row.nll, row.heldOut ? 1 : 0, ...row.values].join(','))].join('\n')}\n`;
}

/** An image file's brightness in 0..1, row-major from the top, scaled down to LAB_IMAGE_SIDE; `invert`: dark is dense. */
export async function readImageBrightness(file: Blob, invert: boolean): Promise<{ width: number; height: number; pixels: number[] }> {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, LAB_IMAGE_SIDE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(width, height);
  const g = canvas.getContext('2d')!;
  g.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const { data } = g.getImageData(0, 0, width, height);
  const pixels: number[] = [];
  for (let i = 0; i < data.length; i += 4) {
    // Luma, weighted by alpha so a transparent background is empty.
    const v = ((0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]) / 255) * (data[i + 3] / 255);
    pixels.push(Number((invert ? (data[i + 3] / 255) - v : v).toFixed(4)));
  }
  return { width, height, pixels };
}
