// The chart's data: curves merged onto one x column, appends that extend it exactly as a
// rebuild would, the smoothed copy, the decimated drawing (extremes kept, appends in step with
// a rebuild), whole-number step ticks and the CSV.
import { describe, expect, it } from 'vitest';
import { STEP_INCRS } from '../../renderer/src/chart/axes.ts';
import { CurveTable, type CurveSeries } from '../../renderer/src/chart/curve-table.ts';
import { DRAW_DIRECT, DrawTable } from '../../renderer/src/chart/draw-table.ts';

/** The table's rows in use, as plain arrays with null for a gap. */
function plain(t: CurveTable) {
  return { x: Array.from(t.x.subarray(0, t.rows)), columns: t.columns.map((_, i) => Array.from({ length: t.rows }, (_, r) => t.at(i, r))) };
}

const pts = (steps: number[], f: (s: number) => number) => steps.map((step) => ({ step, time: step / 2, value: f(step) }));

describe('curve table', () => {
  it('merges series onto one x column with gaps, and appends as a rebuild would', () => {
    const train = pts([1, 2, 3, 4], (s) => 5 - s);
    const val = pts([2, 4], () => 3);
    const series: CurveSeries[] = [
      { id: 't', label: 'train', color: '#000', points: train, smooth: true },
      { id: 'v', label: 'val, "x"', color: '#111', points: val },
    ];
    const live = new CurveTable();
    expect(live.sync(series, 'step', 0.5)).toBe('rebuild');
    const first = plain(live);
    expect(first.x).toEqual([1, 2, 3, 4]);
    expect(first.columns[0]).toEqual([4, 3, 2, 1]);
    // Debiased EMA at 0.5: 4, (0.25*4 + 0.5*3) / 0.75, …
    expect(first.columns[1].map((v) => Number(v!.toFixed(4)))).toEqual([4, 3.3333, 2.5714, 1.7333]);
    expect(first.columns[2]).toEqual([null, 3, null, 3]);
    train.push(...pts([5, 6], () => 0.5));
    val.push(...pts([6], () => 2));
    expect(live.sync(series, 'step', 0.5)).toBe('append');
    const fresh = new CurveTable();
    fresh.sync(series, 'step', 0.5);
    expect(plain(live)).toEqual(plain(fresh));
    expect(live.rows).toBe(6);
    expect(live.minValue).toBe(0.5);
    expect(live.csv('step').split('\n').slice(0, 3)).toEqual(['step,train,"val, ""x"""', '1,4,', '2,3,3']);
  });

  it('rebuilds when a series is replaced or the axis changes, and handles equal x', () => {
    const series: CurveSeries[] = [{ id: 't', label: 'train', color: '#000', points: pts([1, 1, 2], (s) => s) }];
    const t = new CurveTable();
    t.sync(series, 'step', 0);
    expect(plain(t).x).toEqual([1, 1, 2]);
    expect(t.sync([{ ...series[0], points: pts([1, 2], (s) => s) }], 'step', 0)).toBe('rebuild');
    expect(t.sync([{ ...series[0], points: pts([1, 2], (s) => s) }], 'time', 0)).toBe('rebuild');
    expect(plain(t).x).toEqual([0.5, 1]);
  });
});

describe('decimated drawing', () => {
  it('draws small tables as they are, and long ones as buckets that keep spikes, appends matching a rebuild', () => {
    const n = DRAW_DIRECT * 5;
    const train = pts(Array.from({ length: n }, (_, i) => i + 1), (s) => Math.sin(s / 100));
    train[12_345].value = 40;
    const series: CurveSeries[] = [{ id: 't', label: 'train', color: '#000', points: train }];
    const table = new CurveTable();
    const drawing = new DrawTable();
    table.sync(series, 'step', 0);
    const shown = drawing.sync(table, true);
    expect(shown.x.length).toBeLessThan(n / 4);
    expect(shown.columns[0]).toContain(40);
    for (let k = 1; k <= 500; k++) {
      train.push({ step: n + k, time: 0, value: -k });
      table.sync(series, 'step', 0);
      drawing.sync(table, false);
    }
    const again = new DrawTable().sync(table, true);
    expect(drawing.x).toEqual(again.x);
    expect(drawing.columns).toEqual(again.columns);
    expect(drawing.columns[0].at(-1)).toBe(-500);
    expect(new DrawTable().sync(table, false, { from: 10, to: 20 }).x).toEqual(plain(table).x.slice(10, 20));
  });
});

describe('step ticks', () => {
  it('are whole numbers only', () => {
    expect(STEP_INCRS.slice(0, 4)).toEqual([1, 2, 5, 10]);
    expect(STEP_INCRS.every((s) => Number.isInteger(s))).toBe(true);
  });
});
