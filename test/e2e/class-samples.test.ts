// A class-conditional run in the app (issue 17), in a real browser over runs trained on disk by the
// engine: the Runs table's unconditional bits/dim and accuracy (sortable; blank for an unconditional
// run), the Train view's three validation figures and its unconditional curve, and the Samples
// view's class picker with one named row per class or one class's grid. Screenshots of the Train
// and Samples views at 1400x900 light and 1000x700 dark go to $FLOWDESK_SHOTS (default
// test-results/screenshots/classes), with no text past its panel.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { train } from '../../main/engine/train/trainer.ts';
import { startAppServer } from '../helpers/app-server.ts';
import { browserTestSkip, launchBrowser, LAYOUT_SIZES } from '../helpers/browser.ts';
import { makeClassFolder, type ClassFolder } from '../helpers/class-folder.ts';
import { overflowingText } from '../helpers/text-overflow.ts';

const skip = browserTestSkip;
const shots = process.env.FLOWDESK_SHOTS ?? join('test-results', 'screenshots', 'classes');
const LOOKS = [{ size: LAYOUT_SIZES[0], colorScheme: 'light' }, { size: LAYOUT_SIZES[1], colorScheme: 'dark' }] as const;
const model = { kind: 'glow', size: 16, channels: 1, levels: 2, depth: 1, hidden: 8 } as const;
const settings = { batch: 6, lr: 1e-2, warmup: 2, steps: 30, evalEvery: 10, checkpointEvery: 30, seed: 1, sampleCount: 12, valImages: 6 };

describe.skipIf(skip !== null)(`a class-conditional run in browser mode${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let folder: ClassFolder;
  let runsDir: string;
  let app: Awaited<ReturnType<typeof startAppServer>>;
  let browser: Browser;
  let page: Page;

  /** Each window size and scheme the views are shot at, scrolled to `testid`, with no text past its panel. */
  async function shoot(view: string, testid: string): Promise<void> {
    for (const { size, colorScheme } of LOOKS) {
      await page.setViewportSize(size);
      await page.emulateMedia({ colorScheme });
      await page.evaluate(() => window.scrollTo(0, 0));
      // On a narrow window a finished run's figures sit under the settings.
      await page.getByTestId(testid).evaluate((el) => el.closest('.panel')!.scrollIntoView({ block: 'start' }));
      await page.screenshot({ path: join(shots, `${view}-${size.width}x${size.height}-${colorScheme}.png`) });
      expect(await overflowingText(page), `${view} at ${size.width}x${size.height} ${colorScheme}`).toEqual([]);
    }
    await page.setViewportSize(LAYOUT_SIZES[0]);
    await page.emulateMedia({ colorScheme: 'light' });
  }

  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    folder = await makeClassFolder({ dark: 40, mid: 128, light: 215 }, 10, model.size);
    runsDir = await mkdtemp(join(tmpdir(), 'flowdesk-class-samples-'));
    const common = { folder: folder.dir, model, runsDir, cacheDir: null };
    await train({ ...common, name: 'plain', train: { ...settings, steps: 10, checkpointEvery: 10 } });
    await train({ ...common, name: 'digits-by-class', train: { ...settings, classes: 'folders' } });
    app = await startAppServer(runsDir);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: LAYOUT_SIZES[0] });
    await page.goto(app.url);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await folder?.cleanup();
    if (runsDir) await rm(runsDir, { recursive: true, force: true });
  });

  it('lists the unconditional bits/dim and accuracy in the Runs table, blank for an unconditional run, and sorts on them', async () => {
    await page.getByTestId('nav-runs').click();
    const cell = (run: string, key: string) => page.getByTestId(`cell-${run}-${key}`);
    await expect.poll(() => cell('digits-by-class', 'lastValBpdUnconditional').textContent(), { timeout: 30_000 }).toMatch(/^\s*\d+\.\d{3}/);
    expect(await cell('digits-by-class', 'lastValAccuracy').textContent()).toMatch(/^\s*\d+\.\d %/);
    expect((await cell('plain', 'lastValBpdUnconditional').textContent())!.trim()).toBe('');
    expect((await cell('plain', 'lastValAccuracy').textContent())!.trim()).toBe('');
    const header = page.getByTestId('col-lastValAccuracy');
    await header.locator('button').first().click();
    await expect.poll(() => header.getAttribute('aria-sort')).toBe('ascending');
  });

  it('shows the validation given the class, the unconditional one and the accuracy in the Train view', async () => {
    await page.getByTestId('open-digits-by-class').click();
    await expect.poll(() => page.getByTestId('val-bpd-label').textContent(), { timeout: 30_000 }).toBe('validation bits/dim given the class');
    expect(await page.getByTestId('val-bpd').textContent()).toMatch(/^\d+\.\d{3}$/);
    expect(await page.getByTestId('val-bpd-unconditional').textContent()).toMatch(/^\d+\.\d{3}$/);
    expect(await page.getByTestId('val-accuracy').textContent()).toMatch(/^\d+\.\d %$/);
    await expect.poll(() => page.getByTestId('chart-legend').textContent()).toMatch(/validation, unconditional/);
    await expect.poll(() => page.getByTestId('train-grid').isVisible(), { timeout: 30_000 }).toBe(true);
    await shoot('train-classes', 'val-bpd');
  });

  it('offers the classes in the Samples view, a named row each, or one class', async () => {
    await page.getByTestId('nav-samples').click();
    const picker = page.getByTestId('sample-class');
    await expect.poll(() => picker.locator('option').allTextContents(), { timeout: 30_000 }).toEqual(['All classes (a row each)', 'dark', 'light', 'mid']);
    await expect.poll(() => page.getByTestId('sample-grid-rows').locator('li').allTextContents(), { timeout: 60_000 }).toEqual(['dark', 'light', 'mid']);
    // Glow trains without label dropout: no guidance weight to set.
    expect(await page.getByTestId('guidance').count()).toBe(0);
    await shoot('samples-classes', 'sample-class');
    const all = await page.getByTestId('sample-grid').getAttribute('src');
    await picker.selectOption('light');
    await expect.poll(() => page.getByTestId('sample-grid').getAttribute('src'), { timeout: 60_000 }).not.toBe(all);
    expect(await page.getByTestId('sample-grid-rows').count()).toBe(0);

    // An unconditional run has no class picker.
    await page.getByTestId('sample-run').selectOption('plain');
    await expect.poll(() => picker.count(), { timeout: 30_000 }).toBe(0);
  });
});
