// Bundled by test/e2e/chart-speed.test.ts into a bare page: times the real chart (FlowChart
// over uPlot) drawing a million-point curve and appending to it, with performance.now().
import { FlowChart } from '../../renderer/src/chart/flow-chart.ts';
import type { CurveSeries } from '../../renderer/src/chart/curve-table.ts';

interface BenchResult {
  points: number;
  firstDrawMs: number;
  appendMs: number[];
  rows: number;
}

const nextFrame = () => new Promise<void>((done) => requestAnimationFrame(() => done()));

async function bench(n: number, appends: number): Promise<BenchResult> {
  const el = document.getElementById('chart')!;
  const train = Array.from({ length: n }, (_, i) => ({ step: i + 1, time: i / 50, value: 3 + 2 / Math.sqrt(i + 1) + 0.2 * Math.sin(i * 12.9898) }));
  const val = train.filter((p) => p.step % 1000 === 0).map((p) => ({ ...p, value: p.value - 0.1 }));
  const series: CurveSeries[] = [
    { id: 'train', label: 'train', color: '#4f5bd5', points: train, smooth: true },
    { id: 'val', label: 'validation', color: '#2e8b57', points: val },
  ];
  const chart = new FlowChart(el);
  const view = { xMode: 'step' as const, smoothing: 0.6, log: false };
  await nextFrame();
  // uPlot draws its canvas in a microtask it queues during update: awaiting one after it
  // includes that drawing (not the browser's later compositing of the frame).
  let t0 = performance.now();
  chart.update(series, view);
  await Promise.resolve();
  const firstDrawMs = performance.now() - t0;
  const appendMs: number[] = [];
  for (let k = 0; k < appends; k++) {
    await nextFrame();
    const step = n + k + 1;
    train.push({ step, time: step / 50, value: 3 });
    t0 = performance.now();
    chart.update(series, view);
    await Promise.resolve();
    appendMs.push(performance.now() - t0);
  }
  const rows = chart.table.rows;
  chart.destroy();
  return { points: n, firstDrawMs, appendMs, rows };
}

(window as unknown as { bench: typeof bench }).bench = bench;
