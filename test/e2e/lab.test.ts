// Issue 15's Lab in a real browser (browser mode): two families trained on one target both land in
// the comparison table, the heatmaps are drawn, Stop stops, and a bad expression is refused in
// words. Screenshots (spline flow on the checkerboard, an FFJORD trajectory half-way) at 1400x900
// and 1000x700, light and dark, go to test-results/screenshots (FLOWDESK_SHOTS overrides).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppServer } from '../helpers/app-server.ts';
import { launchBrowser, browserTestSkip, LAYOUT_SIZES } from '../helpers/browser.ts';
import { colours, setFamily, shootLab, trainToTable } from '../helpers/lab-page.ts';

const skip = browserTestSkip;
const shots = process.env.FLOWDESK_SHOTS ?? join('test-results', 'screenshots');

describe.skipIf(skip !== null)(`the Lab in browser mode${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let app: Awaited<ReturnType<typeof startAppServer>>;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    app = await startAppServer();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: LAYOUT_SIZES[0] });
    await page.goto(app.url);
    await page.getByTestId('nav-lab').click();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('draws the target, trains two families on it and finds both in the table', async () => {
    await expect.poll(() => colours(page, 'lab-target-heatmap'), { timeout: 60_000 }).toBeGreaterThan(2);
    await setFamily(page, 'realnvp', { layers: 2, hidden: 16, steps: 200, batch: 128, lr: 0.005 });
    await page.getByTestId('lab-train').click();
    // While it trains, the model's heatmap is drawn from live frames.
    await expect.poll(() => colours(page, 'lab-model-heatmap'), { timeout: 120_000 }).toBeGreaterThan(10);
    await expect.poll(() => page.getByTestId('lab-train').isVisible(), { timeout: 240_000 }).toBe(true);
    expect(await page.getByTestId('lab-refresh').textContent()).toMatch(/^\d+ ms$/);
    await setFamily(page, 'spline-coupling', { layers: 2, hidden: 16, bins: 8, steps: 200, batch: 128, lr: 0.005 });
    await trainToTable(page, 'spline-coupling');
    const flows = await page.locator('[data-testid=lab-row]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-flow')));
    expect(flows.sort()).toEqual(['realnvp', 'spline-coupling']);
    // The finished model opens with its flow picture.
    await expect.poll(() => page.getByTestId('lab-flow-canvas').isVisible(), { timeout: 60_000 }).toBe(true);
    await shootLab(page, shots, 'lab-spline-checkerboard');
  }, 600_000);

  it('stops a training on request', async () => {
    await setFamily(page, 'nice', { layers: 2, hidden: 16, steps: 1_000_000, batch: 64 });
    await page.getByTestId('lab-train').click();
    await expect.poll(async () => Number(await page.getByTestId('lab-step').textContent()), { timeout: 120_000 }).toBeGreaterThan(5);
    await page.getByTestId('lab-stop').click();
    await expect.poll(() => page.locator('.lab .status .phase').textContent(), { timeout: 120_000 }).toBe('stopped');
    const row = page.locator('[data-testid=lab-row][data-flow=nice]');
    await expect.poll(() => row.count(), { timeout: 60_000 }).toBe(1);
    expect(Number(await row.locator('td').nth(3).textContent())).toBeLessThan(1_000_000);
  }, 300_000);

  it('shows an FFJORD trajectory through time with its velocity field', async () => {
    await setFamily(page, 'ffjord', { hidden: 16, 'ode-steps': 4, steps: 50, batch: 128, lr: 0.02 });
    await trainToTable(page, 'ffjord');
    await expect.poll(() => page.getByTestId('lab-flow-canvas').isVisible(), { timeout: 120_000 }).toBe(true);
    const slider = page.getByTestId('lab-flow-stage');
    await slider.fill(String(Math.round(Number(await slider.getAttribute('max')) / 2)));
    await expect.poll(() => page.getByTestId('lab-flow-caption').textContent()).toMatch(/^t = 0\.50/);
    await shootLab(page, shots, 'lab-ffjord-trajectory', { scrollTo: 'lab-flow-panel' });
  }, 400_000);

  it('refuses a bad expression in words', async () => {
    await page.getByTestId('lab-mode-expression').click();
    await page.getByTestId('lab-expression').fill('x +* y');
    await page.getByTestId('lab-show-target').click();
    await expect.poll(() => page.getByTestId('lab-error').textContent(), { timeout: 60_000 }).toMatch(/expect/i);
  }, 120_000);
});
