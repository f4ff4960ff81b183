// TarFlow from the app in browser mode (issue 16): a person picks the family in the Train view,
// makes it small, turns noise augmentation on and starts it; the step counter and curves grow, a
// sample grid appears, and every bits/dim shown (Train view, Runs table) says it is of noised
// data. The Train view with TarFlow is checked and shot at 1400x900 and 1000x700, light and dark.
// Screenshots go to test-results/screenshots (FLOWDESK_SHOTS overrides).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importInPage } from '../helpers/app-page.ts';
import { startAppServer } from '../helpers/app-server.ts';
import { browserTestSkip, LAYOUT_SIZES, launchBrowser } from '../helpers/browser.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';
import { overflowingText } from '../helpers/text-overflow.ts';

const skip = browserTestSkip;
const shots = process.env.FLOWDESK_SHOTS ?? join('test-results', 'screenshots');
const NOISED = 'bits/dim (data noised, σ = 0.05)';
/** A TarFlow small enough to train 20 steps in seconds: 16 patches of 2x2 through two blocks of width 32. */
const SMALL = { patch: '2', depth: '2', hidden: '32', 'attn-layers': '1' };

describe.skipIf(skip !== null)(`TarFlow in the app${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let app: Awaited<ReturnType<typeof startAppServer>>;
  let browser: Browser;
  let page: Page;
  let images: Awaited<ReturnType<typeof makeImageFolder>>;

  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    images = await makeImageFolder({ count: 48, size: 8, channels: 1, pattern: 'stripes', seed: 4 });
    app = await startAppServer();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: LAYOUT_SIZES[0] });
    await page.goto(app.url);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await images?.cleanup();
  });

  it('trains a small TarFlow picked in the Train view: its curve and samples appear, its bits/dim labelled as of noised data', async () => {
    await importInPage(page, images.dir, 8, 1);
    await page.getByTestId('nav-train').click();
    await page.getByRole('radio', { name: 'TarFlow' }).click();
    await page.getByRole('radio', { name: 'small' }).click();
    for (const [id, value] of Object.entries(SMALL)) await page.getByTestId(id).fill(value);
    await page.locator('details.advanced summary').click();
    await page.getByTestId('head-dim').fill('16');
    await page.getByTestId('noise').fill('0.05');
    await page.getByTestId('batch').fill('8');
    await page.getByTestId('steps').fill('20');
    await page.getByTestId('eval-every').fill('10');
    // Learning within the 20 steps, so the curve and grid show a model that trains.
    await page.getByTestId('lr').fill('0.005');
    await page.getByTestId('warmup').fill('5');
    // The label follows the setting before the run starts.
    expect(await page.getByTestId('val-bpd-label').textContent()).toBe(`validation ${NOISED}`);
    await page.getByTestId('start').click();
    await expect.poll(async () => Number(await page.getByTestId('step').textContent()), { timeout: 180_000 }).toBe(20);
    await expect.poll(() => page.getByTestId('train-grid').isVisible(), { timeout: 60_000 }).toBe(true);
    await expect.poll(() => page.locator('[data-testid=chart-canvas] canvas').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('chart-legend').textContent()).toMatch(/train\s+\d+\.\d{3}.*validation\s+\d+\.\d{3}/s);
    expect(await page.getByTestId('chart').getAttribute('aria-label')).toContain(`Train and validation ${NOISED}`);
    await expect.poll(() => page.locator('.meta .phase').textContent(), { timeout: 60_000 }).toBe('finished');

    await page.getByTestId('nav-runs').click();
    const row = page.locator('[data-testid^=run-row-]');
    await row.first().waitFor({ timeout: 30_000 });
    const id = (await row.first().getAttribute('data-testid'))!.replace('run-row-', '');
    const cell = page.getByTestId(`cell-${id}-lastValBpd`);
    expect(await cell.textContent()).toMatch(/^\d+\.\d{3}data noised, σ = 0\.05$/);
    expect(await cell.locator('.note').textContent()).toBe('data noised, σ = 0.05');
    await page.screenshot({ path: join(shots, 'runs-tarflow-noised.png') });
  }, 300_000);

  it('lays the Train view out with TarFlow at 1400x900 and 1000x700, light and dark', async () => {
    await page.getByTestId('nav-train').click();
    for (const size of LAYOUT_SIZES) {
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.setViewportSize(size);
        await page.emulateMedia({ colorScheme });
        await page.evaluate(() => window.scrollTo(0, 0));
        const where = `${size.width}x${size.height} ${colorScheme}`;
        await page.screenshot({ path: join(shots, `train-tarflow-${size.width}x${size.height}-${colorScheme}.png`) });
        expect(await page.getByRole('radio', { name: 'TarFlow' }).getAttribute('aria-checked'), where).toBe('true');
        expect(await overflowingText(page), where).toEqual([]);
      }
    }
  }, 120_000);
});
