// The import report's strip of images in a real browser (issue 14 point 9): a seeded random
// sample of the folder, not its first files. The first 32 files by name are red and the rest
// blue, so a strip of the first 16 would be all red; the strip holds both, and the same again
// on a second import.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importInPage } from '../helpers/app-page.ts';
import { startAppServer } from '../helpers/app-server.ts';
import { launchBrowser, browserTestSkip } from '../helpers/browser.ts';

const skip = browserTestSkip;
const RED = { r: 220, g: 30, b: 30 };
const BLUE = { r: 30, g: 30, b: 220 };

/** Writes `count` plain 16x16 PNGs named `${prefix}-NNN.png`. */
async function writePlain(dir: string, prefix: string, count: number, background: typeof RED): Promise<void> {
  for (let i = 0; i < count; i++) {
    await sharp({ create: { width: 16, height: 16, channels: 3, background } }).png().toFile(join(dir, `${prefix}-${String(i).padStart(3, '0')}.png`));
  }
}

/** Pixels of the strip that are clearly red and clearly blue (the gutters are neither). */
async function colours(strip: string): Promise<{ red: number; blue: number }> {
  const png = Buffer.from(strip.replace(/^data:image\/png;base64,/, ''), 'base64');
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let red = 0;
  let blue = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    if (data[i] - data[i + 2] > 100) red++;
    if (data[i + 2] - data[i] > 100) blue++;
  }
  return { red, blue };
}

describe.skipIf(skip !== null)(`the import strip in browser mode${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let app: Awaited<ReturnType<typeof startAppServer>>;
  let browser: Browser;
  let page: Page;
  let folder: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'flowdesk-two-colours-'));
    await writePlain(folder, 'a-red', 32, RED);
    await writePlain(folder, 'b-blue', 32, BLUE);
    app = await startAppServer();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(app.url);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('shows a seeded random sample of the folder, the same on every import', async () => {
    await importInPage(page, folder, 16, 3);
    const strip = page.getByTestId('import-report').locator('img.strip');
    const first = (await strip.getAttribute('src'))!;
    const { red, blue } = await colours(first);
    // At least one whole image of each colour.
    expect(red).toBeGreaterThanOrEqual(16 * 16);
    expect(blue).toBeGreaterThanOrEqual(16 * 16);
    // Imported again: the same sample.
    await page.getByTestId('import').click();
    await expect.poll(() => page.getByTestId('import-report').isVisible(), { timeout: 60_000 }).toBe(true);
    expect(await strip.getAttribute('src')).toBe(first);
  });
});
