// Classes from sub-folders in the Data view (issue 17), in a real browser: the choice, the table
// of classes with their counts and a strip of each class's own images, at 1400x900 and 1000x700
// in light and dark with no text past its panel, and a root image refused in words.
// Screenshots go to test-results/screenshots (FLOWDESK_SHOTS overrides).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importInPage } from '../helpers/app-page.ts';
import { startAppServer } from '../helpers/app-server.ts';
import { browserTestSkip, launchBrowser, LAYOUT_SIZES } from '../helpers/browser.ts';
import { overflowingText } from '../helpers/text-overflow.ts';

const skip = browserTestSkip;
const shots = process.env.FLOWDESK_SHOTS ?? join('test-results', 'screenshots');
const COLOURS = { blue: { r: 30, g: 30, b: 220 }, green: { r: 30, g: 200, b: 30 }, red: { r: 220, g: 30, b: 30 } } as const;
type Colour = keyof typeof COLOURS;
/** Images per class; green's sit one folder deeper, and still count as green. */
const COUNTS: Record<Colour, number> = { blue: 12, green: 6, red: 20 };

/** Pixels of a strip that are clearly each colour (the gutters are none). */
async function colourCounts(strip: string): Promise<Record<Colour, number>> {
  const png = Buffer.from(strip.replace(/^data:image\/png;base64,/, ''), 'base64');
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const counts = { blue: 0, green: 0, red: 0 };
  for (let i = 0; i < data.length; i += info.channels) {
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    if (r - Math.max(g, b) > 100) counts.red++;
    if (g - Math.max(r, b) > 100) counts.green++;
    if (b - Math.max(r, g) > 100) counts.blue++;
  }
  return counts;
}

describe.skipIf(skip !== null)(`classes in the Data view in browser mode${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let app: Awaited<ReturnType<typeof startAppServer>>;
  let browser: Browser;
  let page: Page;
  let folder: string;

  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    folder = await mkdtemp(join(tmpdir(), 'flowdesk-colour-classes-'));
    for (const [colour, count] of Object.entries(COUNTS) as [Colour, number][]) {
      const dir = colour === 'green' ? join(folder, colour, 'nested') : join(folder, colour);
      await mkdir(dir, { recursive: true });
      for (let i = 0; i < count; i++) {
        await sharp({ create: { width: 16, height: 16, channels: 3, background: COLOURS[colour] } }).png().toFile(join(dir, `${i}.png`));
      }
    }
    app = await startAppServer();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: LAYOUT_SIZES[0] });
    await page.goto(app.url);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('lists each class with its counts and a strip of its own images', async () => {
    await importInPage(page, folder, 16, 3, 'folders');
    const rows = page.getByTestId('import-classes').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    for (const [i, colour] of (['blue', 'green', 'red'] as const).entries()) {
      const cells = await rows.nth(i).locator('td').allTextContents();
      expect(cells[0]).toBe(colour);
      expect(Number(cells[1]) + Number(cells[2]), colour).toBe(COUNTS[colour]);
      const counts = await colourCounts((await rows.nth(i).locator('img').getAttribute('src'))!);
      // Up to 8 whole images of the class, and nothing of the others.
      expect(counts[colour], colour).toBeGreaterThanOrEqual(Math.min(8, Number(cells[1])) * 16 * 16);
      for (const other of Object.keys(COLOURS) as Colour[]) if (other !== colour) expect(counts[other], `${other} in ${colour}`).toBe(0);
    }
    await page.getByTestId('nav-train').click();
    await expect.poll(() => page.getByTestId('dataset').textContent()).toContain('16×16 RGB · 3 classes');
    await page.getByTestId('nav-data').click();
  });

  it('keeps the report tidy at both sizes, light and dark', async () => {
    for (const size of LAYOUT_SIZES) {
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.setViewportSize(size);
        await page.emulateMedia({ colorScheme });
        await page.getByTestId('import-classes').scrollIntoViewIfNeeded();
        await page.screenshot({ path: join(shots, `import-classes-${size.width}x${size.height}-${colorScheme}.png`), fullPage: true });
        expect(await overflowingText(page), `${size.width}x${size.height} ${colorScheme}`).toEqual([]);
      }
    }
  });

  it('refuses an image outside the class folders in words, and takes it as "unlabelled" when asked', async () => {
    await sharp({ create: { width: 16, height: 16, channels: 3, background: COLOURS.red } }).png().toFile(join(folder, 'stray.png'));
    await page.getByTestId('import').click();
    await expect.poll(() => page.getByTestId('import-failed').textContent(), { timeout: 60_000 }).toContain('holds 1 image(s) directly in it (stray.png)');
    await page.getByTestId('classes').selectOption('folders-unlabelled');
    await page.getByTestId('import').click();
    await expect.poll(() => page.getByTestId('import-classes').locator('tbody tr').count(), { timeout: 60_000 }).toBe(4);
    expect(await page.getByTestId('import-classes').locator('tbody tr td:first-child').allTextContents()).toEqual(['blue', 'green', 'red', 'unlabelled']);
  });
});
