// A uPlot canvas chart of bits-per-dimension curves: the raw line faint behind the smoothed
// one, drag to zoom, wheel to zoom around the pointer, shift-drag to pan, double-click to
// reset, log or linear y, whole-number step ticks, and appends that redraw without rebuilding.
// The data is kept columnar (CurveTable) and drawn through a min/max-decimated copy
// (DrawTable) once it is long, so a million points draw once in well under a second and an
// append costs one small redraw (test/e2e/chart-speed.test.ts measures both in Chromium).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { CurveTable, type CurveSeries, type XMode } from './curve-table.ts';
import { DRAW_DIRECT, DrawTable, type Drawn } from './draw-table.ts';
import { STEP_INCRS, stepLabel, TIME_INCRS, timeLabel } from './axes.ts';

/** Height of the plot and its axes, in CSS pixels. */
export const CHART_HEIGHT = 300;
/** How far one wheel notch zooms. */
const WHEEL_ZOOM = 1.25;
/** A series this short is drawn with dots too, so a single evaluation still shows. */
const DOTS_BELOW = 100;
const dotted = (s: CurveSeries) => s.points.length < DOTS_BELOW;

export interface ChartView {
  xMode: XMode;
  smoothing: number;
  log: boolean;
  /** The y axis' name. Defaults to 'bits / dim'. */
  yLabel?: string;
}

export class FlowChart {
  readonly table = new CurveTable();
  /** What the canvas draws now (the table's rows, or a decimated copy): the legend reads them. */
  shown: Drawn = { x: [], columns: [] };
  private readonly drawing = new DrawTable();
  private refining = false;
  private plot: uPlot | null = null;
  /** What the plot's options were built from; a change rebuilds the plot. */
  private shape = '';
  private zoomed = false;
  private readonly resize: ResizeObserver;

  constructor(
    private readonly el: HTMLElement,
    /** Called with the row under the pointer, or null when it leaves the plot. */
    private readonly onCursor: (row: number | null) => void = () => undefined,
  ) {
    this.resize = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: CHART_HEIGHT }));
    this.resize.observe(el);
    // Canvas colours are read from the theme when the plot is built: a scheme change rebuilds it.
    this.scheme.addEventListener('change', this.restyle);
  }

  private readonly scheme = matchMedia('(prefers-color-scheme: dark)');
  private lastUpdate: { series: readonly CurveSeries[]; view: ChartView } | null = null;
  private readonly restyle = () => {
    this.shape = '';
    if (this.lastUpdate) this.update(this.lastUpdate.series, this.lastUpdate.view);
  };

  /** Shows `series`; appended points redraw the plot without rebuilding it. */
  update(series: readonly CurveSeries[], view: ChartView): void {
    this.lastUpdate = { series, view };
    const fresh = this.table.sync(series, view.xMode, view.smoothing) === 'rebuild';
    const log = view.log && this.logPossible;
    const shape = JSON.stringify([view.xMode, log, view.yLabel, this.table.lines.map((l) => [l.series.id, l.series.color, l.smoothed, !!l.series.dashed, dotted(l.series)])]);
    if (!this.plot || shape !== this.shape) {
      this.shape = shape;
      this.plot?.destroy();
      this.zoomed = false;
      this.shown = this.drawing.sync(this.table, true);
      this.plot = new uPlot(this.options(view.xMode, log, view.yLabel ?? 'bits / dim'), aligned(this.shown), this.el);
    } else if (!this.zoomed) {
      this.shown = this.drawing.sync(this.table, fresh);
      this.plot.setData(aligned(this.shown), true);
    }
    // While zoomed the view stays as the person set it; new points show after a reset.
  }

  /** Whether a log scale can show these values (all above zero). */
  get logPossible(): boolean {
    return this.table.minValue > 0;
  }

  resetZoom(): void {
    this.zoomed = false;
    this.shown = this.drawing.sync(this.table, false);
    this.plot?.setData(aligned(this.shown), true);
  }

  /** After a zoom or pan: a decimated drawing is redone for the rows in view, so detail appears. */
  private refine(u: uPlot): void {
    const { min, max } = u.scales.x;
    const rows = this.table.rows;
    if (!this.zoomed || this.refining || min === undefined || max === undefined || rows <= DRAW_DIRECT) return;
    const from = Math.max(0, lowerBound(this.table.x, rows, min) - 1);
    const to = Math.min(rows, lowerBound(this.table.x, rows, max) + 1);
    this.refining = true;
    try {
      this.shown = this.drawing.sync(this.table, false, { from, to });
      u.setData(aligned(this.shown), false);
      u.setScale('x', { min, max });
    } finally {
      this.refining = false;
    }
  }

  destroy(): void {
    this.resize.disconnect();
    this.scheme.removeEventListener('change', this.restyle);
    this.plot?.destroy();
    this.plot = null;
  }

  private width(): number {
    return Math.max(240, this.el.clientWidth);
  }

  private color(css: string): string {
    const m = /^var\((--[\w-]+)\)$/.exec(css);
    return m ? getComputedStyle(this.el).getPropertyValue(m[1]).trim() || '#888' : css;
  }

  private options(xMode: XMode, log: boolean, yLabel: string): uPlot.Options {
    const muted = this.color('var(--muted)');
    const grid = { stroke: this.color('var(--border)'), width: 1 };
    const axis = { stroke: muted, grid, ticks: grid, font: '12px system-ui, sans-serif', labelFont: '12px system-ui, sans-serif' };
    return {
      width: this.width(),
      height: CHART_HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: true }, bind: { mousedown: (u, _t, handler) => (e) => (e.shiftKey ? this.pan(u, e) : handler(e)) } },
      scales: {
        x: { time: false, range: (_u, min, max) => (min === max ? [min, min + 1] : [min, max]) },
        y: { distr: log ? 3 : 1, range: (_u, min, max) => (min === max ? [min - 0.5, max + 0.5] : uPlot.rangeNum(min, max, 0.06, true)) },
      },
      axes: [
        { ...axis, label: xMode === 'step' ? 'step' : 'training time', incrs: xMode === 'step' ? STEP_INCRS : TIME_INCRS, values: (_u, splits) => splits.map(xMode === 'step' ? stepLabel : timeLabel) },
        { ...axis, label: yLabel, size: 56 },
      ],
      series: [
        {},
        ...this.table.lines.map((l) => {
          const faint = !l.smoothed && !!l.series.smooth && this.table.lines.some((o) => o.index === l.index && o.smoothed);
          return { label: l.smoothed ? `${l.series.label} (smoothed)` : l.series.label, stroke: this.color(l.series.color), width: faint ? 1 : 2, alpha: faint ? 0.3 : 1, spanGaps: true, dash: l.series.dashed ? [6, 4] : undefined, points: { show: dotted(l.series), size: 6 } };
        }),
      ],
      hooks: {
        setCursor: [(u) => this.onCursor(u.cursor.idx ?? null)],
        setSelect: [() => (this.zoomed = true)],
        setScale: [(u, key) => key === 'x' && this.refine(u)],
        ready: [(u) => this.bindWheel(u)],
      },
    };
  }

  private bindWheel(u: uPlot): void {
    u.over.addEventListener('wheel', (e) => {
      e.preventDefault();
      const { min, max } = u.scales.x;
      if (min === undefined || max === undefined) return;
      const at = u.posToVal(e.offsetX, 'x');
      const f = e.deltaY < 0 ? 1 / WHEEL_ZOOM : WHEEL_ZOOM;
      this.zoomed = true;
      u.setScale('x', { min: at - (at - min) * f, max: at + (max - at) * f });
    }, { passive: false });
    // uPlot's own double-click resets the scales; the whole drawing comes back with them.
    u.over.addEventListener('dblclick', () => this.resetZoom());
  }

  /** Shift-drag: moves the x range with the pointer until the button is let go. */
  private pan(u: uPlot, down: MouseEvent): null {
    const { min, max } = u.scales.x;
    if (min === undefined || max === undefined) return null;
    const perPx = (max - min) / u.over.clientWidth;
    this.zoomed = true;
    const move = (e: MouseEvent) => {
      const dx = (e.clientX - down.clientX) * perPx;
      u.setScale('x', { min: min - dx, max: max - dx });
    };
    const up = () => {
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
    };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
    return null;
  }
}

function aligned(d: Drawn): uPlot.AlignedData {
  return [d.x, ...d.columns] as uPlot.AlignedData;
}

/** The first index of the sorted first `n` of `xs` whose value is at least `v`. */
function lowerBound(xs: Float64Array, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
