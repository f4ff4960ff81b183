// The app's chart code bundled as the app bundles it, on a blank Chromium page, drawing `points`
// curve points and then appending `appends` more one by one (chart-bench-entry.ts times each
// draw). Shared by the chart's e2e test (it draws) and bench/chart.ts (how fast).
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';

export interface ChartRun {
  points: number;
  rows: number;
  firstDrawMs: number;
  appendMs: number[];
}

export async function drawChartInPage(browser: Browser, points: number, appends: number): Promise<ChartRun> {
  const bundle = await build({ entryPoints: ['test/helpers/chart-bench-entry.ts'], bundle: true, write: false, format: 'iife', loader: { '.css': 'empty' }, minify: true });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    await page.setContent(`<!doctype html><html><body><div id="chart" style="width:1200px"></div><script>${bundle.outputFiles[0].text}</script></body></html>`);
    return await page.evaluate(([n, a]) => (window as unknown as { bench: (n: number, a: number) => Promise<ChartRun> }).bench(n, a), [points, appends] as const);
  } finally {
    await page.close();
  }
}
