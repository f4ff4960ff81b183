// Issue 17 in the app, in a real browser: a folder of three class sub-folders imported with
// classes, a tiny conditional Glow trained from the Train view (its sample grid has one row per
// class), then Explore's Restore tab inpaints an image through a brush stroke drawn with the
// pointer (candidates, mean, baselines and scores appear), upscales it x2, and the Class tab decodes the image
// under every class. The Restore tab with results is checked for text past its panel and shot at
// 1400x900 and 1000x700, light and dark. Screenshots go to test-results/screenshots (FLOWDESK_SHOTS overrides).
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
const CLASSES = ['ant', 'bee', 'cat'];
const SIZE = 8;
/** The image grid's gutter (main/engine/data/image-grid.ts' GRID_GUTTER). */
const GUTTER = 2;

describe.skipIf(skip !== null)(`restoration and classes in the app${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let app: Awaited<ReturnType<typeof startAppServer>>;
  let browser: Browser;
  let page: Page;
  let images: Awaited<ReturnType<typeof makeImageFolder>>;

  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    images = await makeImageFolder({ count: 36, size: SIZE, channels: 1, pattern: 'blobs', classes: CLASSES, seed: 7 });
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

  it('trains a tiny conditional Glow on three classes: its sample grid has one row per class', async () => {
    await importInPage(page, images.dir, SIZE, 1, 'folders');
    await expect.poll(() => page.getByTestId('import-classes').locator('tbody tr').count()).toBe(3);
    await page.getByTestId('nav-train').click();
    await page.getByRole('radio', { name: 'Glow', exact: true }).click();
    await page.getByRole('radio', { name: 'small' }).click();
    for (const [id, value] of Object.entries({ levels: '2', depth: '2', hidden: '16', batch: '8', steps: '20', 'eval-every': '10' })) await page.getByTestId(id).fill(value);
    await page.getByTestId('start').click();
    await expect.poll(async () => Number(await page.getByTestId('step').textContent()), { timeout: 180_000 }).toBe(20);
    await expect.poll(() => page.locator('.meta .phase').textContent(), { timeout: 60_000 }).toBe('finished');
    const grid = page.getByTestId('train-grid');
    await expect.poll(() => grid.isVisible(), { timeout: 60_000 }).toBe(true);
    const height = await grid.evaluate(async (img: HTMLImageElement) => (await img.decode(), img.naturalHeight));
    expect(height).toBe(CLASSES.length * SIZE + (CLASSES.length + 1) * GUTTER);
  }, 300_000);

  it('inpaints an image through a brush stroke: candidates, their mean, baselines and scores appear', async () => {
    await page.getByTestId('nav-explore').click();
    await page.getByTestId('tab-restore').click();
    await page.getByTestId('restore-file').setInputFiles(images.good[0]);
    expect(await page.getByTestId('restore-inpaint').getAttribute('aria-checked')).toBe('true');
    await expect.poll(() => page.getByTestId('restore-run').isEnabled()).toBe(false);
    const canvas = page.getByTestId('mask-canvas');
    // From the keyboard: arrows move the brush, Space paints (a 1-pixel brush at 8 px), Invert and Clear.
    await canvas.focus();
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('Space');
    expect(await page.getByTestId('mask-count').textContent()).toBe(`1 of ${SIZE * SIZE} pixels to fill`);
    await page.getByTestId('mask-invert').click();
    expect(await page.getByTestId('mask-count').textContent()).toBe(`${SIZE * SIZE - 1} of ${SIZE * SIZE} pixels to fill`);
    await page.getByTestId('mask-clear').click();
    expect(await page.getByTestId('mask-count').textContent()).toBe(`0 of ${SIZE * SIZE} pixels to fill`);
    await expect.poll(() => page.getByTestId('restore-run').isEnabled()).toBe(false);
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height * 0.3);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.75, box.y + box.height * 0.5, { steps: 8 });
    await page.mouse.up();
    const painted = Number((await page.getByTestId('mask-count').textContent())!.split(' ')[0]);
    expect(painted).toBeGreaterThan(0);
    expect(painted).toBeLessThan(SIZE * SIZE);
    await page.getByTestId('samples').fill('3');
    await page.getByTestId('steps').fill('20');
    await page.getByTestId('restore-run').click();
    await expect.poll(() => page.getByTestId('restore-result').isVisible(), { timeout: 120_000 }).toBe(true);
    expect(await page.getByTestId('restore-candidate').count()).toBe(3);
    expect(await page.getByTestId('restore-mean').count()).toBe(1);
    expect(await page.getByTestId('restore-baseline').allTextContents()).toEqual(['mean colour', 'diffusion']);
    const rows = await page.locator('[data-testid=restore-scores] tbody tr td:first-child').allTextContents();
    expect(rows).toEqual(['candidate 1', 'candidate 2', 'candidate 3', 'mean of candidates', 'best candidate (oracle pick)', 'mean colour (baseline)', 'diffusion (baseline)']);
    const psnr = await page.locator('[data-testid=restore-scores] tbody tr td:nth-child(2)').allTextContents();
    for (const v of psnr) expect(v).toMatch(/^(\d+\.\d\d|∞)$/);
    expect(await page.getByTestId('restore-diversity').textContent()).toMatch(/Diversity \d+\.\d\d grey levels/);
  }, 180_000);

  it('keeps the Restore tab with results inside its panel at both sizes, light and dark', async () => {
    for (const size of LAYOUT_SIZES) {
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.setViewportSize(size);
        await page.emulateMedia({ colorScheme });
        const where = `${size.width}x${size.height} ${colorScheme}`;
        await page.screenshot({ path: join(shots, `restore-${size.width}x${size.height}-${colorScheme}.png`), fullPage: true });
        expect(await overflowingText(page), where).toEqual([]);
      }
    }
    await page.setViewportSize(LAYOUT_SIZES[0]);
    await page.emulateMedia({ colorScheme: 'light' });
  }, 120_000);

  it('upscales a full-size image x2: it is reduced here, so the candidates and bicubic are scored against it', async () => {
    await page.getByTestId('restore-upscale-2').click();
    await page.getByTestId('restore-run').click();
    await expect.poll(() => page.getByTestId('restore-degraded').textContent(), { timeout: 120_000 }).toContain(`small input (${SIZE / 2} × ${SIZE / 2})`);
    expect(await page.getByTestId('restore-baseline').allTextContents()).toEqual(['bicubic']);
    expect(await page.getByTestId('restore-input').textContent()).toContain('reduced by box average');
    expect(await page.locator('[data-testid=restore-scores] tbody tr td:first-child').last().textContent()).toBe('bicubic (baseline)');
    await page.screenshot({ path: join(shots, 'restore-upscale.png'), fullPage: true });
  }, 180_000);

  it('decodes an image under every class in the Class tab', async () => {
    await page.getByTestId('tab-classes').click();
    expect(await page.getByTestId('class-from').locator('option').allTextContents()).toEqual(CLASSES);
    await page.getByTestId('class-file').setInputFiles(images.good[1]);
    await page.getByTestId('class-from').selectOption('bee');
    await page.getByTestId('change-class').click();
    await expect.poll(() => page.locator('[data-testid=class-strip] .thumb').count(), { timeout: 60_000 }).toBe(3);
    expect(await page.locator('[data-testid=class-strip] .row figcaption').allTextContents()).toEqual(CLASSES);
    await page.screenshot({ path: join(shots, 'explore-class-strip.png') });
  }, 120_000);
});
