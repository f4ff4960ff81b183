// The chart at scale in Chromium: a million-point training curve (raw and smoothed) with a
// validation curve draws, and points appended after it land in its table. How fast is
// measured by `npm run bench -- --only=chart` (bench/chart.ts), not asserted here.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchBrowser } from '../helpers/browser.ts';
import { drawChartInPage } from '../helpers/chart-page.ts';

describe.skipIf(chromiumMissing !== null)(`the chart with a million points${chromiumMissing ? ` (skipped: ${chromiumMissing})` : ''}`, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(() => browser?.close());

  it('draws a million points and takes appended ones', async () => {
    const result = await drawChartInPage(browser, 1_000_000, 30);
    expect(result.rows).toBe(1_000_030);
    expect(result.appendMs).toHaveLength(30);
  }, 120_000);
});
