// What the browser-mode e2e tests share: the app served over a fresh runs folder, Chromium on
// its page, two generated folders (48 coloured blobs with two broken files, 6 stripes), and
// importing a folder through the Data view.
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { ClassMode } from '../../common/settings/train-fields.ts';
import { startAppServer } from './app-server.ts';
import { launchBrowser } from './browser.ts';
import { makeImageFolder } from './image-folder.ts';

export async function openAppInBrowser(viewport: { width: number; height: number }) {
  const images = await makeImageFolder({ count: 48, size: 12, channels: 3, pattern: 'blobs', bad: ['zero-byte', 'truncated'] });
  const other = await makeImageFolder({ count: 6, size: 12, channels: 3, pattern: 'stripes', seed: 5 });
  const app = await startAppServer();
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport });
  await page.goto(app.url);
  return {
    app,
    page,
    images,
    other,
    async close() {
      await browser.close();
      await app.stop();
      await images.cleanup();
      await other.cleanup();
    },
  };
}

/** Imports `folder` at `size` pixels and `channels` (and `classes`, when given) in the Data view and waits for the report. */
export async function importInPage(page: Page, folder: string, size: 8 | 16 | 32 | 64, channels: 1 | 3, classes?: ClassMode): Promise<void> {
  await page.getByTestId('source-folder').check();
  await page.getByTestId('folder-path').fill(folder);
  await page.getByTestId('image-size').selectOption(String(size));
  await page.getByTestId('channels').selectOption(String(channels));
  if (classes) await page.getByTestId('classes').selectOption(classes);
  await page.getByTestId('import').click();
  await expect.poll(() => page.getByTestId('import-report').isVisible(), { timeout: 60_000 }).toBe(true);
}
