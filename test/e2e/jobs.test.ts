// Long jobs and a busy trainer, in a real browser (issue 14 points 1-3): an import shows its
// progress with a rate and Cancel stops it (the view says so and keeps nothing); Start shows
// what the run is doing before its first step; a sample grid asked for while a 32x32 colour
// Glow trains answers, and training goes on; computing a direction and ranking a folder show
// their progress and Cancel stops them. Screenshots at 1400x900 and 1000x700, light and
// dark, go to $FLOWDESK_SHOTS (default test-results/screenshots/jobs).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../preload/api.ts';
import { startAppServer } from '../helpers/app-server.ts';
import { launchBrowser, browserTestSkip } from '../helpers/browser.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

const skip = browserTestSkip;
const shots = process.env.FLOWDESK_SHOTS ?? join('test-results', 'screenshots', 'jobs');

describe.skipIf(skip !== null)(`jobs and training phases in browser mode${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let app: Awaited<ReturnType<typeof startAppServer>>;
  let browser: Browser;
  let page: Page;
  let big: Awaited<ReturnType<typeof makeImageFolder>>;
  let colour: Awaited<ReturnType<typeof makeImageFolder>>;

  /** The page as it is now, at both sizes and in both colour schemes. */
  async function shoot(name: string) {
    for (const [w, h] of [[1400, 900], [1000, 700]]) {
      for (const scheme of ['light', 'dark'] as const) {
        await page.setViewportSize({ width: w, height: h });
        await page.emulateMedia({ colorScheme: scheme });
        await page.screenshot({ path: join(shots, `${name}-${w}x${h}-${scheme}.png`) });
      }
    }
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.emulateMedia({ colorScheme: 'light' });
  }

  beforeAll(async () => {
    // Enough noise images that decoding them takes seconds on a busy machine.
    big = await makeImageFolder({ count: 2500, size: 48, channels: 3, pattern: 'noise' });
    colour = await makeImageFolder({ count: 64, size: 32, channels: 3, pattern: 'blobs', seed: 3 });
    app = await startAppServer();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await mkdir(shots, { recursive: true });
    await page.goto(app.url);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await big?.cleanup();
    await colour?.cleanup();
  });

  it('shows an import with its progress and rate, and Cancel stops it with nothing half-done', async () => {
    await page.getByTestId('source-folder').check();
    await page.getByTestId('folder-path').fill(big.dir);
    await page.getByTestId('image-size').selectOption('32');
    await page.getByTestId('channels').selectOption('3');
    await page.getByTestId('import').click();
    const rate = page.getByTestId('job-rate');
    await expect.poll(() => rate.isVisible(), { timeout: 60_000, interval: 50 }).toBe(true);
    expect(await rate.textContent()).toMatch(/^[\d.]+\/s$/);
    expect(await page.getByTestId('job-progress').textContent()).toContain(`Importing ${big.dir}`);
    await shoot('import-progress');
    await page.getByTestId('job-cancel').click();
    const cancelled = page.getByTestId('job-cancelled');
    await expect.poll(() => cancelled.isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await cancelled.textContent()).toMatch(/was cancelled; nothing was kept/);
    expect(await page.getByTestId('import-report').count()).toBe(0);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.getByTestId('import').isEnabled()).toBe(true);
    await shoot('import-cancelled');
  });

  it('shows the phases after Start, then answers a sample grid while a 32x32 colour Glow trains, and training goes on', async () => {
    await page.getByTestId('folder-path').fill(colour.dir);
    await page.getByTestId('import').click();
    await expect.poll(() => page.getByTestId('import-report').isVisible(), { timeout: 60_000 }).toBe(true);
    await page.getByTestId('nav-train').click();
    await page.getByTestId('batch').fill('16');
    await page.getByTestId('steps').fill('100000');
    await page.getByTestId('start').click();
    const phase = page.getByTestId('train-phase');
    const seen = new Set<string>();
    const step = async () => Number(await page.getByTestId('step').textContent());
    // Collect the phases shown until the first step is logged.
    await expect
      .poll(
        async () => {
          const text = await phase.textContent({ timeout: 50 }).catch(() => null);
          if (text && !seen.has(text)) {
            seen.add(text);
            await page.screenshot({ path: join(shots, `train-phase-${seen.size}.png`) });
          }
          return step();
        },
        { timeout: 180_000, interval: 50 },
      )
      .toBeGreaterThan(0);
    expect([...seen].join(' | ')).toMatch(/Initialising the model|Preparing|First step/);
    expect(await phase.count()).toBe(0);
    await shoot('train-running');
    await page.getByTestId('nav-samples').click();
    const grid = page.getByTestId('sample-grid');
    await expect.poll(() => grid.getAttribute('src'), { timeout: 60_000 }).toMatch(/^data:image\/png;base64,/);
    const before = await grid.getAttribute('src');
    await page.getByTestId('temperature').fill('0.3');
    const asked = Date.now();
    await expect.poll(() => grid.getAttribute('src'), { timeout: 30_000, interval: 20 }).not.toBe(before);
    const seconds = (Date.now() - asked) / 1000;
    console.log(`a 36-image grid while training answered in ${seconds.toFixed(2)} s`);
    await page.getByTestId('nav-train').click();
    const after = await step();
    await expect.poll(step, { timeout: 60_000 }).toBeGreaterThan(after);
    await page.getByTestId('pause').click();
    await expect.poll(() => page.locator('.meta .phase').textContent(), { timeout: 120_000 }).toBe('paused');
  });

  it('shows a direction being computed with its progress, and Cancel stops it with none saved', async () => {
    await page.getByTestId('nav-explore').click();
    await page.getByTestId('tab-attributes').click();
    await page.getByTestId('with-folder').fill(big.dir);
    await page.getByTestId('without-folder').fill(colour.dir);
    await page.getByTestId('compute-direction').click();
    const progress = page.getByTestId('job-progress');
    await expect.poll(() => progress.isVisible(), { timeout: 60_000, interval: 50 }).toBe(true);
    expect(await progress.textContent()).toContain('Computing the direction "attribute"');
    await shoot('direction-progress');
    await page.getByTestId('job-cancel').click();
    await expect.poll(() => page.getByTestId('job-cancelled').isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.getByTestId('compute-direction').isEnabled()).toBe(true);
    const [run] = ((await app.host.call<RunSummary[]>('listRuns')) as { value: RunSummary[] }).value;
    expect(await app.host.call('listDirections', { runId: run.id })).toEqual({ ok: true, value: [] });
  });

  it('shows a ranking in Explore with its progress, and Cancel stops it', async () => {
    await page.getByTestId('nav-explore').click();
    await page.getByTestId('tab-rank').click();
    await page.getByTestId('rank-folder').fill(big.dir);
    await page.getByTestId('rank').click();
    const progress = page.getByTestId('job-progress');
    await expect.poll(() => progress.isVisible(), { timeout: 60_000, interval: 50 }).toBe(true);
    expect(await progress.textContent()).toContain(`Ranking ${big.dir}`);
    await shoot('rank-progress');
    await page.getByTestId('job-cancel').click();
    await expect.poll(() => page.getByTestId('job-cancelled').isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.getByTestId('rank').isEnabled()).toBe(true);
  });
});
