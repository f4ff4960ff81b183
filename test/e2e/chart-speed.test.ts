// The chart at scale, measured in Chromium: a million-point training curve (raw and smoothed)
// with a validation curve draws the first time in under a second, and appending a point
// redraws in under 16 ms (one frame). The chart code is bundled as the app bundles it.
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchBrowser } from '../helpers/browser.ts';

describe.skipIf(chromiumMissing !== null)(`the chart with a million points${chromiumMissing ? ` (skipped: ${chromiumMissing})` : ''}`, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(() => browser?.close());

  it('draws first in under a second and appends a point in under 16 ms', async () => {
    const bundle = await build({ entryPoints: ['test/helpers/chart-bench-entry.ts'], bundle: true, write: false, format: 'iife', loader: { '.css': 'empty' }, minify: true });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.setContent(`<!doctype html><html><body><div id="chart" style="width:1200px"></div><script>${bundle.outputFiles[0].text}</script></body></html>`);
    const result = await page.evaluate(() => (window as unknown as { bench: (n: number, a: number) => Promise<{ points: number; firstDrawMs: number; appendMs: number[]; rows: number }> }).bench(1_000_000, 30));
    const sorted = [...result.appendMs].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    console.log(`chart bench: ${result.points} points (${result.rows} rows), first draw ${result.firstDrawMs.toFixed(1)} ms, append median ${median.toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms`);
    expect(result.rows).toBe(1_000_030);
    expect(result.firstDrawMs).toBeLessThan(1000);
    expect(median).toBeLessThan(16);
    await page.close();
  }, 120_000);
});
