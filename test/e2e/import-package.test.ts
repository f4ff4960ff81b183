// Issue 18 in a real browser: Explore's Import takes a PyTorch package. A package train.py has not
// continued is refused saying what to run; a continued one comes back as a run that Explore
// opens at once and Samples opens, both at the continued step, and the Runs view lists and overlays. The Import
// panel keeps its text inside at 1400x900 light and 1000x700 dark, with screenshots into
// $FLOWDESK_SHOTS (default test-results/screenshots/import-package).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppServer } from '../helpers/app-server.ts';
import { browserTestSkip, launchBrowser, LAYOUT_SIZES } from '../helpers/browser.ts';
import { CONTINUED_STEP, EXPORTED_STEP, makePytorchPackages, type PytorchPackages } from '../helpers/pytorch-package.ts';
import { overflowingText } from '../helpers/text-overflow.ts';

const skip = browserTestSkip;
const shots = process.env.FLOWDESK_SHOTS ?? join('test-results', 'screenshots', 'import-package');
/** The views' checks at both sizes: light at the larger, dark at the smaller. */
const LOOKS = [
  { size: LAYOUT_SIZES[0], colorScheme: 'light' },
  { size: LAYOUT_SIZES[1], colorScheme: 'dark' },
] as const;

describe.skipIf(skip !== null)(`importing a PyTorch package in the app${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let packages: PytorchPackages;
  let app: Awaited<ReturnType<typeof startAppServer>>;
  let browser: Browser;
  let page: Page;
  const runId = 'origin-pytorch';

  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    packages = await makePytorchPackages();
    app = await startAppServer();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: LOOKS[0].size });
    await page.goto(app.url);
    await page.getByTestId('nav-explore').click();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await packages?.cleanup();
  });

  async function importFrom(folder: string): Promise<void> {
    await page.getByTestId('import-folder').fill(folder);
    await page.getByTestId('import-model').click();
  }
  /** Screenshots of the view as it is now, at each look, with no text past its panel. */
  async function checkLooks(name: string): Promise<void> {
    for (const { size, colorScheme } of LOOKS) {
      await page.setViewportSize(size);
      await page.emulateMedia({ colorScheme });
      await page.screenshot({ path: join(shots, `${name}-${size.width}x${size.height}-${colorScheme}.png`) });
      expect(await overflowingText(page), `${name} at ${size.width}x${size.height} ${colorScheme}`).toEqual([]);
    }
    await page.setViewportSize(LOOKS[0].size);
    await page.emulateMedia({ colorScheme: 'light' });
  }

  it('says what to run when train.py has not continued the package', async () => {
    await expect.poll(() => page.getByText('Import a model export or PyTorch package folder').count()).toBe(1);
    await importFrom(packages.fresh);
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent(), { timeout: 30_000 }).toMatch(new RegExp(`no checkpoint past step ${EXPORTED_STEP}.*train\\.py has not continued it yet\\. Run \`python3 train\\.py --steps N\``));
    await checkLooks('explore-import-refused');
    await alert.getByRole('button', { name: 'Dismiss' }).click();
  }, 60_000);

  it('imports the continued package as a run continued from its origin', async () => {
    await importFrom(packages.continued);
    await expect.poll(() => page.getByRole('status').first().textContent(), { timeout: 60_000 }).toBe(`Imported as run ${runId}, continued in PyTorch from run ${packages.origin} at step ${EXPORTED_STEP}.`);
    // Opened here at once, at the step PyTorch reached.
    expect(await page.getByTestId('explore-run').inputValue()).toBe(runId);
    await expect.poll(() => page.getByTestId('explore-weights').textContent(), { timeout: 30_000 }).toMatch(new RegExp(`from step ${CONTINUED_STEP} `));
    await checkLooks('explore-imported');
    await page.getByTestId('tab-import').click();
    await checkLooks('explore-import-tab');
  }, 90_000);

  it('lists the run in Runs with its curve, and Samples opens it at the continued step', async () => {
    await page.getByTestId('nav-runs').click();
    const row = page.getByTestId(`run-row-${runId}`);
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
    await page.getByTestId(`overlay-${runId}`).check();
    const legend = page.getByTestId('overlay-chart').getByTestId('chart-legend');
    await expect.poll(() => legend.textContent(), { timeout: 30_000 }).toContain(`${runId} · val`);
    await row.getByRole('button', { name: 'Samples' }).click();
    await expect.poll(() => page.getByTestId('sample-weights').textContent(), { timeout: 60_000 }).toMatch(new RegExp(`from step ${CONTINUED_STEP}$`));
    await expect.poll(() => page.getByTestId('sample-grid').count(), { timeout: 60_000 }).toBeGreaterThan(0);
  }, 120_000);
});
