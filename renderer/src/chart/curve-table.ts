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

export class CurveTable {
  x: number[] = [];
  columns: (number | null)[][] = [];
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
      this.x = [];
      this.minValue = Infinity;
      this.lines = series.flatMap((s, index) => [{ series: s, index, smoothed: false }, ...(s.smooth && smoothing > 0 ? [{ series: s, index, smoothed: true }] : [])]);
      this.columns = this.lines.map(() => []);
      this.cursors = series.map(() => ({ taken: 0, last: null, acc: 0, weight: 0 }));
    }
    this.merge(series, xMode, smoothing);
    return appendable ? 'append' : 'rebuild';
  }

  /** Whether `s` is what the cursor took plus points at or after the table's last x. */
  private extends(s: CurveSeries, c: Cursor | undefined, xMode: XMode): boolean {
    if (!c || s.points.length < c.taken) return false;
    if (c.taken > 0 && s.points[c.taken - 1] !== c.last) return false;
    const lastX = this.x.length ? this.x[this.x.length - 1] : -Infinity;
    return c.taken === s.points.length || xOf(s.points[c.taken], xMode) >= lastX;
  }

  /** Merges every series' untaken points, in x order, onto the end of the columns. */
  private merge(series: readonly CurveSeries[], xMode: XMode, smoothing: number): void {
    const columnsOf = series.map((_, index) => this.lines.flatMap((l, i) => (l.index === index ? [{ column: this.columns[i], smoothed: l.smoothed }] : [])));
    for (;;) {
      let next = Infinity;
      for (let i = 0; i < series.length; i++) {
        const c = this.cursors[i];
        if (c.taken < series[i].points.length) next = Math.min(next, xOf(series[i].points[c.taken], xMode));
      }
      if (next === Infinity) return;
      this.x.push(next);
      for (let i = 0; i < series.length; i++) {
        const c = this.cursors[i];
        const p = series[i].points[c.taken];
        const here = p !== undefined && xOf(p, xMode) === next;
        let smoothedValue: number | null = null;
        if (here) {
          c.taken += 1;
          c.last = p;
          if (Number.isFinite(p.value)) {
            if (p.value < this.minValue) this.minValue = p.value;
            c.acc = smoothing * c.acc + (1 - smoothing) * p.value;
            c.weight = smoothing * c.weight + (1 - smoothing);
            smoothedValue = c.acc / c.weight;
          }
        }
        for (const { column, smoothed } of columnsOf[i]) column.push(!here || !Number.isFinite(p.value) ? null : smoothed ? smoothedValue : p.value);
      }
    }
  }

  /** The raw values as CSV: the x column, then one column per series. */
  csv(xMode: XMode): string {
    const raw = this.lines.map((l, i) => ({ l, i })).filter(({ l }) => !l.smoothed);
    const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const head = [xMode === 'step' ? 'step' : 'seconds', ...raw.map(({ l }) => quote(l.series.label))].join(',');
    const rows = this.x.map((x, r) => [x, ...raw.map(({ i }) => this.columns[i][r] ?? '')].join(','));
    return `${[head, ...rows].join('\n')}\n`;
  }
}

export function xOf(p: CurvePoint, xMode: XMode): number {
  return xMode === 'step' ? p.step : p.time;
}
