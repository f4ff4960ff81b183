// What the canvas draws, as uPlot takes it (plain arrays, null for a gap): the curve table's
// rows as they are while it is small, else a min/max-decimated copy of about DRAW_BUCKETS buckets (two rows each: every line's low and high of the bucket,
// in the order they occurred), a few per pixel column, so spikes stay visible. Appends
// recompute only the last, partial bucket, so a point added to a million costs microseconds;
// when the buckets pass twice the target, their size doubles and the copy is rebuilt.
import type { CurveTable } from './curve-table.ts';

/** Rows drawn as they are up to this many; past it, buckets. */
export const DRAW_DIRECT = 8000;
/** Buckets aimed at past DRAW_DIRECT (two rows each). */
const DRAW_BUCKETS = 3000;

export interface Drawn {
  x: number[];
  columns: (number | null)[][];
}

export class DrawTable implements Drawn {
  x: number[] = [];
  columns: (number | null)[][] = [];
  /** Rows per bucket; 0 while the table is drawn directly. */
  private size = 0;
  /** Table rows already summarised in whole buckets. */
  private whole = 0;
  /** Drawn rows that came from those whole buckets (the rest is the partial bucket). */
  private wholeRows = 0;

  /** Brings the drawing up to date; `fresh` after the table was rebuilt. Rows `from..to` only when zoomed. */
  sync(table: CurveTable, fresh: boolean, range?: { from: number; to: number }): Drawn {
    if (range) return summarise(table, range.from, range.to, Math.max(1, Math.ceil((range.to - range.from) / DRAW_BUCKETS)));
    const rows = table.rows;
    if (rows <= DRAW_DIRECT) {
      this.size = 0;
      return summarise(table, 0, rows, 1);
    }
    if (fresh || this.size === 0 || rows / this.size > 2 * DRAW_BUCKETS) {
      this.size = Math.ceil(rows / DRAW_BUCKETS);
      this.x = [];
      this.columns = table.columns.map(() => []);
      this.whole = 0;
      this.wholeRows = 0;
    }
    // Drop the partial bucket drawn last time, add the buckets completed since, redo the partial one.
    this.x.length = this.wholeRows;
    for (const c of this.columns) c.length = this.wholeRows;
    const end = rows - (rows % this.size);
    if (end > this.whole) {
      append(this, summarise(table, this.whole, end, this.size));
      this.whole = end;
      this.wholeRows = this.x.length;
    }
    if (end < rows) append(this, summarise(table, end, rows, this.size));
    return this;
  }
}

function append(into: Drawn, part: Drawn): void {
  for (const x of part.x) into.x.push(x);
  part.columns.forEach((c, i) => {
    for (const v of c) into.columns[i].push(v);
  });
}

/** Rows `from..to` of the table in buckets of `size`: two rows per bucket (one when `size` is 1), at its first and last x. */
function summarise(table: CurveTable, from: number, to: number, size: number): Drawn {
  const out: Drawn = { x: [], columns: table.columns.map(() => []) };
  for (let start = from; start < to; start += size) {
    const end = Math.min(to, start + size);
    out.x.push(table.x[start]);
    if (end - start > 1) out.x.push(table.x[end - 1]);
    for (let i = 0; i < table.columns.length; i++) {
      const col = table.columns[i];
      let lo = -1;
      let hi = -1;
      for (let r = start; r < end; r++) {
        const v = col[r];
        if (v !== v) continue; // NaN: no point here
        if (lo < 0 || v < col[lo]) lo = r;
        if (hi < 0 || v > col[hi]) hi = r;
      }
      out.columns[i].push(lo < 0 ? null : col[Math.min(lo, hi)]);
      if (end - start > 1) out.columns[i].push(lo < 0 ? null : col[Math.max(lo, hi)]);
    }
  }
  return out;
}
