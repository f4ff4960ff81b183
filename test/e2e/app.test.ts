// The app in a real browser, as a person uses it: pick a generated folder and read the import
// report, train a tiny model and watch the chart grow and a sample grid appear, move the
// temperature slider and see the grid change, export the model (and as ONNX) and import it back (an imported
// run, with no other run's status changed), reopen the run from Runs. Screenshots of each view
// go to test-results/screenshots.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../preload/api.ts';
import { importInPage, openAppInBrowser } from '../helpers/app-page.ts';
import { browserTestSkip } from '../helpers/browser.ts';

const skip = browserTestSkip;
const shots = join('test-results', 'screenshots');

describe.skipIf(skip !== null)(`the app in browser mode${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let session: Awaited<ReturnType<typeof openAppInBrowser>>;
  let app: typeof session.app;
  let page: Page;
  let images: typeof session.images;
  let other: typeof session.other;

  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    session = await openAppInBrowser({ width: 1280, height: 860 });
    ({ app, page, images, other } = session);
  }, 120_000);
  afterAll(async () => {
    await session?.close();
  });

  it('imports a folder and shows the report with skipped files', async () => {
    await importInPage(page, images.dir, 8, 3);
    const report = page.getByTestId('import-report');
    expect(await report.textContent()).toMatch(/48\s*images/);
    expect(await report.textContent()).toContain('bad-zero-byte.png');
    expect(await report.textContent()).toContain('empty file (0 bytes)');
    // Colour images are flipped by default (Horizontal flip: auto), and the report says so.
    expect(await page.getByTestId('augmentation').textContent()).toContain('training mirrors each image left-right half the time');
    await page.screenshot({ path: join(shots, 'data.png') });
  });

  it('trains a tiny model: the step counter and chart grow and a sample grid appears', async () => {
    await page.getByTestId('nav-train').click();
    await page.getByTestId('batch').fill('8');
    await page.getByTestId('steps').fill('30');
    await page.getByTestId('eval-every').fill('10');
    await page.getByTestId('start').click();
    await expect.poll(async () => Number(await page.getByTestId('step').textContent()), { timeout: 60_000 }).toBeGreaterThan(0);
    await expect.poll(async () => Number(await page.getByTestId('step').textContent()), { timeout: 120_000 }).toBe(30);
    await expect.poll(() => page.getByTestId('train-grid').isVisible(), { timeout: 30_000 }).toBe(true);
    // The canvas chart: its legend reads the last train and validation values.
    await expect.poll(() => page.locator('[data-testid=chart-canvas] canvas').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('chart-legend').textContent()).toMatch(/train\s+\d+\.\d{3}.*validation\s+\d+\.\d{3}/s);
    await expect.poll(() => page.locator('.meta .phase').textContent()).toBe('finished');
    await page.screenshot({ path: join(shots, 'train.png'), fullPage: true });
  });

  it('draws a new grid when the temperature moves', async () => {
    await page.getByTestId('nav-samples').click();
    const grid = page.getByTestId('sample-grid');
    await expect.poll(() => grid.getAttribute('src'), { timeout: 30_000 }).toMatch(/^data:image\/png;base64,/);
    const before = await grid.getAttribute('src');
    await page.getByTestId('temperature').fill('0.2');
    await expect.poll(() => grid.getAttribute('src'), { timeout: 30_000 }).not.toBe(before);
    expect(await page.textContent('figcaption')).toContain('T = 0.20');
    await page.screenshot({ path: join(shots, 'samples.png') });
  });

  it('explores the model: reconstruct, interpolate, attribute slider, ranking, export', async () => {
    await page.getByTestId('nav-explore').click();
    await page.getByTestId('tab-reconstruct').click();
    // Drop the image onto the slot, as a person would.
    const bytes = (await readFile(images.good[0])).toString('base64');
    const dataTransfer = await page.evaluateHandle(async (b64) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'dropped.png', { type: 'image/png' }));
      return dt;
    }, bytes);
    await page.locator('.slot').first().dispatchEvent('drop', { dataTransfer });
    await expect.poll(() => page.getByTestId('reconstruct').isEnabled()).toBe(true);
    await page.getByTestId('reconstruct').click();
    await expect.poll(() => page.getByTestId('max-error').textContent(), { timeout: 30_000 }).toMatch(/^[01]$/);
    await page.screenshot({ path: join(shots, 'explore-reconstruct.png') });

    await page.getByTestId('tab-interpolate').click();
    await page.getByTestId('interp-file-1').setInputFiles(images.good[1]);
    await page.getByTestId('interp-file-2').setInputFiles(images.good[2]);
    await expect.poll(() => page.locator('.slot img').count()).toBe(2);
    await page.getByTestId('interpolate').click();
    await expect.poll(() => page.locator('[data-testid=interpolation] img').count(), { timeout: 30_000 }).toBe(2);
    await page.screenshot({ path: join(shots, 'explore-interpolate.png') });
    await page.getByLabel('Four images (grid)').check();
    await page.getByTestId('interp-file-3').setInputFiles(images.good[4]);
    await page.getByTestId('interp-file-4').setInputFiles(images.good[5]);
    await expect.poll(() => page.locator('.slot img').count()).toBe(4);
    const strip = await page.locator('[data-testid=interpolation] img').first().getAttribute('src');
    await page.getByTestId('interpolate').click();
    await expect.poll(() => page.locator('[data-testid=interpolation] img').first().getAttribute('src'), { timeout: 30_000 }).not.toBe(strip);
    expect(await page.locator('[data-testid=interpolation] img').count()).toBe(1);

    await page.getByTestId('tab-attributes').click();
    await page.getByTestId('with-folder').fill(images.dir);
    await page.getByTestId('without-folder').fill(other.dir);
    await page.getByTestId('compute-direction').click();
    await expect.poll(() => page.locator('.notice').textContent(), { timeout: 30_000 }).toMatch(/from 48 images with the attribute and 6 without/);
    await page.getByTestId('attribute-file').setInputFiles(images.good[3]);
    const attributed = page.getByTestId('attributed');
    await expect.poll(() => attributed.getAttribute('src'), { timeout: 30_000 }).toMatch(/^data:image\/png/);
    const atZero = await attributed.getAttribute('src');
    await page.getByTestId('alpha').fill('2');
    await expect.poll(() => attributed.getAttribute('src'), { timeout: 30_000 }).not.toBe(atZero);
    await page.screenshot({ path: join(shots, 'explore-attributes.png') });

    await page.getByTestId('tab-rank').click();
    await page.getByTestId('rank-folder').fill(images.dir);
    await page.getByTestId('rank').click();
    await expect.poll(() => page.getByTestId('ranking').isVisible(), { timeout: 30_000 }).toBe(true);
    const values = (await page.locator('[data-testid=ranking] td.num').allTextContents()).map(Number);
    expect(values.length).toBe(12);
    for (let i = 1; i < values.length; i++) expect(values[i - 1]).toBeGreaterThanOrEqual(values[i]);
    await page.screenshot({ path: join(shots, 'explore-rank.png'), fullPage: true });

    await page.getByTestId('tab-export').click();
    await page.getByTestId('export-folder').fill(join(other.dir, 'exported-model'));
    await page.getByTestId('export').click();
    await expect.poll(() => page.locator('.notice').textContent(), { timeout: 30_000 }).toMatch(/Exported .*weights\.safetensors/);
    await page.getByTestId('export-folder').fill(join(other.dir, 'exported-onnx'));
    await page.getByTestId('export-onnx').click();
    await expect.poll(() => page.locator('.notice').textContent(), { timeout: 60_000 }).toMatch(/Exported .*sample\.onnx and .*encode\.onnx and .*README\.md/);
  });

  it('imports the exported model in its own tab as an imported run, changing no other run', async () => {
    const statuses = async () => Object.fromEntries((await app.host.call<RunSummary[]>('listRuns') as { value: RunSummary[] }).value.map((r) => [r.id, r.status]));
    const before = await statuses();
    await page.getByTestId('tab-import').click();
    await page.getByTestId('import-folder').fill(join(other.dir, 'exported-model'));
    await page.getByTestId('import-model').click();
    await expect.poll(() => page.locator('.notice').textContent(), { timeout: 30_000 }).toBe('Imported as run imported-exported-model.');
    expect(await statuses()).toEqual({ ...before, 'imported-exported-model': 'imported' });
    await page.getByTestId('nav-runs').click();
    const row = page.getByTestId('run-row-imported-exported-model');
    await expect.poll(() => row.locator('.phase').textContent(), { timeout: 15_000 }).toBe('imported');
    expect(await row.getByRole('button', { name: 'Resume' }).count()).toBe(0);
    for (const [id, status] of Object.entries(before)) expect(await page.getByTestId(`run-row-${id}`).locator('.phase').textContent()).toBe(status);
  });

  it('shows a worker crash and resumes the run with one click', async () => {
    await page.getByTestId('nav-train').click();
    await page.getByTestId('steps').fill('400');
    await page.getByTestId('start').click();
    await expect.poll(async () => Number(await page.getByTestId('step').textContent()), { timeout: 60_000 }).toBeGreaterThan(3);
    process.kill(app.host.workerPid()!, 'SIGKILL');
    const banner = page.getByRole('alert');
    await expect.poll(() => banner.textContent(), { timeout: 20_000 }).toMatch(/stopped unexpectedly.*can be resumed from its last checkpoint/);
    await page.screenshot({ path: join(shots, 'crash.png') });
    await page.getByRole('button', { name: 'Resume from last checkpoint' }).click();
    await expect.poll(() => page.locator('.meta .phase').textContent(), { timeout: 60_000 }).toBe('training');
    await page.getByTestId('pause').click();
    await expect.poll(() => page.locator('.meta .phase').textContent(), { timeout: 60_000 }).toBe('paused');
  });

  it('lists the runs in Runs and reopens one', async () => {
    await page.getByTestId('nav-runs').click();
    const table = page.getByTestId('runs-table');
    await expect.poll(() => table.isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await table.textContent()).toContain('30 / 30');
    expect(await table.textContent()).toContain('paused');
    await page.screenshot({ path: join(shots, 'runs.png') });
    await page.locator('[data-testid^="open-"]').last().click();
    await expect.poll(() => page.getByRole('heading', { name: 'Training' }).isVisible()).toBe(true);
    expect(await page.getByTestId('step').textContent()).toBe('30');
    const legend = page.getByTestId('chart').getByTestId('chart-legend');
    await expect.poll(() => legend.textContent()).toMatch(/train\s+\d+\.\d{3}.*validation\s+\d+\.\d{3}/s);
  });
});
