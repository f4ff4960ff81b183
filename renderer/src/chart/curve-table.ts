// The chart's data as uPlot draws it: one x column shared by every line (the union of the
// series' steps or times) and a y column per line, null where a series has no point. Each
// series gives a raw line and, when it asks for smoothing, a smoothed line (a debiased
// exponential moving average, as TensorBoard draws it). Points appended at the end of the
// series (a training run's next step) extend the columns in place, without rebuilding them,
// so a live chart with a million points stays cheap to update.

import type { CurvePoint } from '../stores/training.ts';

export type { CurvePoint };

export interface CurveSeries {
  id: string;
  label: string;
  /** A CSS colour or var(--name); the chart resolves it. */
  color: string;
  points: readonly CurvePoint[];
  /** Apply the smoothing slider to this series (noisy per-step losses). */
  smooth?: boolean;
  dashed?: boolean;
}

export type XMode = 'step' | 'time';

/** One drawn line: the raw points of a series, or their smoothed copy. */
export interface Line {
  series: CurveSeries;
  /** Position of its series in the list given to sync. */
  index: number;
  smoothed: boolean;
}

interface Cursor {
  /** Points of the series already in the table. */
  taken: number;
  /** The last point taken (an append starts after it; anything else rebuilds). */
  last: CurvePoint | null;
  /** Moving average state: the running sum and its debiasing weight. */
  acc: number;
  weight: number;
}

/** A growable Float64Array: NaN marks a row where a line has no point. */
function grown(a: Float64Array<ArrayBuffer>, need: number): Float64Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const b = new Float64Array(Math.max(need, a.length * 2, 1024));
  b.set(a);
  return b;
}

export class CurveTable {
  /** Rows in use; `x` and the columns may be longer (room to append). */
  rows = 0;
  x: Float64Array<ArrayBuffer> = new Float64Array(0);
  /** Typed and unboxed: a million rows cost 8 MB a line, not a million heap numbers. */
  columns: Float64Array<ArrayBuffer>[] = [];
  lines: Line[] = [];
  /** The smallest finite value in the table (a log scale needs it above zero). */
  minValue = Infinity;
  private cursors: Cursor[] = [];
  private key = '';

  /**
   * Brings the table up to date with `series`; 'append' when only new points at the end were
   * added (the columns grew in place), 'rebuild' when the table was made anew.
   */
  sync(series: readonly CurveSeries[], xMode: XMode, smoothing: number): 'append' | 'rebuild' {
    const key = JSON.stringify([xMode, smoothing, series.map((s) => [s.id, s.label, s.color, !!s.smooth, !!s.dashed])]);
    const appendable = key === this.key && series.every((s, i) => this.extends(s, this.cursors[i], xMode));
    if (!appendable) {
      this.key = key;
      this.rows = 0;
      this.minValue = Infinity;
      this.lines = series.flatMap((s, index) => [{ series: s, index, smoothed: false }, ...(s.smooth && smoothing > 0 ? [{ series: s, index, smoothed: true }] : [])]);
      this.cursors = series.map(() => ({ taken: 0, last: null, acc: 0, weight: 0 }));
    }
    // Room for every untaken point (an upper bound on the new rows), allocated once.
    const need = this.rows + series.reduce((n, s, i) => n + s.points.length - this.cursors[i].taken, 0);
    this.x = appendable ? grown(this.x, need) : new Float64Array(Math.max(need, 1024));
    this.columns = this.lines.map((_, i) => (appendable ? grown(this.columns[i], need) : new Float64Array(this.x.length)));
    this.merge(series, xMode, smoothing);
    return appendable ? 'append' : 'rebuild';
  }

  /** The value of line `line` at `row`, or null where that line has no point. */
  at(line: number, row: number): number | null {
    const v = this.columns[line][row];
    return Number.isNaN(v) ? null : v;
  }

  /** Whether `s` is what the cursor took plus points at or after the table's last x. */
  private extends(s: CurveSeries, c: Cursor | undefined, xMode: XMode): boolean {
    if (!c || s.points.length < c.taken) return false;
    if (c.taken > 0 && s.points[c.taken - 1] !== c.last) return false;
    const lastX = this.rows ? this.x[this.rows - 1] : -Infinity;
    return c.taken === s.points.length || xOf(s.points[c.taken], xMode) >= lastX;
  }

  /**
   * Merges every series' untaken points, in x order, onto the end of the columns. The series
   * with the smallest next x emits rows in a tight loop until another series' next x is reached
   * (a per-step train curve with a sparse validation curve runs almost entirely in that loop).
   */
  private merge(series: readonly CurveSeries[], xMode: XMode, smoothing: number): void {
    const raw = series.map((_, i) => this.lines.findIndex((l) => l.index === i && !l.smoothed));
    const smooth = series.map((_, i) => this.lines.findIndex((l) => l.index === i && l.smoothed));
    const nextX = (i: number) => {
      const c = this.cursors[i];
      return c.taken < series[i].points.length ? xOf(series[i].points[c.taken], xMode) : Infinity;
    };
    for (;;) {
      // The series to emit from (ties: the first), and the x where another series takes over.
      let lead = -1;
      let leadX = Infinity;
      let until = Infinity;
      for (let i = 0; i < series.length; i++) {
        const x = nextX(i);
        if (x < leadX) [until, leadX, lead] = [leadX, x, i];
        else if (x < until) until = x;
      }
      if (lead < 0) return;
      if (leadX === until) {
        this.emitTied(series, leadX, xMode, smoothing, raw, smooth);
        continue;
      }
      const points = series[lead].points;
      const c = this.cursors[lead];
      const [rc, sc] = [this.columns[raw[lead]], smooth[lead] >= 0 ? this.columns[smooth[lead]] : null];
      const others = this.columns.filter((_, i) => i !== raw[lead] && i !== smooth[lead]);
      while (c.taken < points.length) {
        const p = points[c.taken];
        const x = xMode === 'step' ? p.step : p.time;
        if (x >= until) break;
        const r = this.rows++;
        this.x[r] = x;
        this.put(c, p, r, rc, sc, smoothing);
        for (const col of others) col[r] = NaN;
      }
    }
  }

  /** One row at `x` where several series have a point. */
  private emitTied(series: readonly CurveSeries[], x: number, xMode: XMode, smoothing: number, raw: number[], smooth: number[]): void {
    const r = this.rows++;
    this.x[r] = x;
    for (const col of this.columns) col[r] = NaN;
    series.forEach((s, i) => {
      const c = this.cursors[i];
      const p = s.points[c.taken];
      if (p !== undefined && xOf(p, xMode) === x) this.put(c, p, r, this.columns[raw[i]], smooth[i] >= 0 ? this.columns[smooth[i]] : null, smoothing);
    });
  }

  /** Takes point `p` of a series into row `r`: its raw value and its running debiased average. */
  private put(c: Cursor, p: CurvePoint, r: number, rawCol: Float64Array, smoothCol: Float64Array | null, smoothing: number): void {
    c.taken += 1;
    c.last = p;
    const v = p.value;
    if (!Number.isFinite(v)) {
      rawCol[r] = NaN;
      if (smoothCol) smoothCol[r] = NaN;
      return;
    }
    if (v < this.minValue) this.minValue = v;
    rawCol[r] = v;
    if (smoothCol) {
      c.acc = smoothing * c.acc + (1 - smoothing) * v;
      c.weight = smoothing * c.weight + (1 - smoothing);
      smoothCol[r] = c.acc / c.weight;
    }
  }

  /** The raw values as CSV: the x column, then one column per series. */
  csv(xMode: XMode): string {
    const raw = this.lines.map((l, i) => ({ l, i })).filter(({ l }) => !l.smoothed);
    const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const head = [xMode === 'step' ? 'step' : 'seconds', ...raw.map(({ l }) => quote(l.series.label))].join(',');
    const rows: string[] = [head];
    for (let r = 0; r < this.rows; r++) rows.push([this.x[r], ...raw.map(({ i }) => this.at(i, r) ?? '')].join(','));
    return `${rows.join('\n')}\n`;
  }
}

export function xOf(p: CurvePoint, xMode: XMode): number {
  return xMode === 'step' ? p.step : p.time;
}
