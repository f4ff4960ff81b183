// Every kind of Lab target trains in a real browser (browser mode, Chromium): points drawn with the
// mouse, a dropped image's brightness, an energy (its picture held back until Train is pressed, as
// on a slow machine) and a typed expression by reverse KL (KL and ESS in the table), a CSV file (its
// least likely rows and a projection on two chosen columns), and a MAF distilled into an IAF (its
// KL to the teacher and both sampling times). The CSV file and the expression train straight after
// typing (Train clicked, then Enter), without "Use this target". Runs are tiny; screenshots of the
// distillation, the CSV ranking and the note beside Train go to test-results/screenshots
// (FLOWDESK_SHOTS overrides).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../main/engine/random.ts';
import { startAppServer } from '../helpers/app-server.ts';
import { browserTestSkip, launchBrowser, LAYOUT_SIZES } from '../helpers/browser.ts';
import { encodeImage, patternPixels } from '../helpers/image-folder.ts';
import { colours, holdTargetPictures, labRow, setFamily, shootLab, trainToTable, waitUntilScored } from '../helpers/lab-page.ts';

const skip = browserTestSkip;
const shots = process.env.FLOWDESK_SHOTS ?? join('test-results', 'screenshots');
const TINY = { layers: 2, hidden: 8, steps: 100, batch: 64, lr: 0.01 };
/** A table cell's number (the first in its text), NaN when it has none. */
const firstNumber = async (page: Page, selector: string) => Number(/-?\d+(\.\d+)?/.exec((await page.locator(selector).first().textContent()) ?? '')?.[0] ?? NaN);

/** A canvas's pixels as a data URL: equal for two canvases showing the same picture. */
const pixelsOf = (page: Page, testId: string) => page.getByTestId(testId).evaluate((c: HTMLCanvasElement) => c.toDataURL());

describe.skipIf(skip !== null)(`every Lab target in browser mode${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let app: Awaited<ReturnType<typeof startAppServer>>;
  let browser: Browser;
  let page: Page;
  let folder: string;
  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    // Inside the temp folder, one of the allowed roots, so the page may name a CSV file there.
    folder = await mkdtemp(join(tmpdir(), 'flowdesk-lab-targets-'));
    app = await startAppServer();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: LAYOUT_SIZES[0] });
    await page.goto(app.url);
    await page.getByTestId('nav-lab').click();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('trains on points drawn with the mouse', async () => {
    await expect.poll(() => colours(page, 'lab-target-heatmap'), { timeout: 60_000 }).toBeGreaterThan(2);
    await page.getByTestId('lab-mode-draw').click();
    const box = (await page.getByTestId('lab-target-heatmap').boundingBox())!;
    // Two strokes: a circle and a diagonal, each pointer move one point.
    const at = (u: number, v: number) => [box.x + box.width * u, box.y + box.height * v] as const;
    await page.mouse.move(...at(0.75, 0.5));
    await page.mouse.down();
    for (let i = 1; i <= 40; i++) await page.mouse.move(...at(0.5 + 0.25 * Math.cos((i / 40) * 2 * Math.PI), 0.5 + 0.25 * Math.sin((i / 40) * 2 * Math.PI)));
    await page.mouse.up();
    await page.mouse.move(...at(0.2, 0.2));
    await page.mouse.down();
    await page.mouse.move(...at(0.8, 0.8), { steps: 30 });
    await page.mouse.up();
    const drawn = Number(/\((\d+) so far\)/.exec((await page.locator('.lab form.settings .hint').first().textContent()) ?? '')?.[1]);
    expect(drawn).toBeGreaterThan(50);
    await page.getByTestId('lab-show-target').click();
    await expect.poll(() => page.locator('.lab .maps-head h3').textContent(), { timeout: 60_000 }).toBe(`Drawn points (${drawn})`);
    await setFamily(page, 'realnvp', TINY);
    await trainToTable(page, 'realnvp');
    expect(await page.locator('[data-testid=lab-row]').count()).toBe(1);
    expect(await firstNumber(page, '[data-testid=lab-row][data-flow=realnvp] td:nth-child(5)')).not.toBeNaN();
  }, 400_000);

  it('trains on a chosen image as a density', async () => {
    await page.getByTestId('lab-mode-image').click();
    const png = await encodeImage(patternPixels(32, 1, 'blobs', new Rng(3)), 32, 1, 'png');
    await page.getByTestId('lab-image-drop').locator('input[type=file]').setInputFiles({ name: 'blobs.png', mimeType: 'image/png', buffer: png });
    await expect.poll(() => page.locator('.lab .maps-head h3').textContent(), { timeout: 60_000 }).toBe('Image (32x32)');
    await expect.poll(() => colours(page, 'lab-target-heatmap'), { timeout: 60_000 }).toBeGreaterThan(10);
    await setFamily(page, 'maf', TINY);
    await trainToTable(page, 'maf');
    expect(await page.locator('[data-testid=lab-row]').count()).toBe(1);
    expect(await colours(page, 'lab-model-heatmap')).toBeGreaterThan(10);
  }, 400_000);

  it('trains on an energy by reverse KL and shows its KL and ESS', async () => {
    // The energy's picture arrives only after Train is pressed, as on a slow machine: Train must
    // wait for it and train on the energy, not on the image shown before (whose table is gone).
    const release = await holdTargetPictures(page);
    await page.getByTestId('lab-mode-energy').click();
    await page.getByTestId('lab-energy').selectOption('u1');
    await setFamily(page, 'realnvp', TINY);
    await trainToTable(page, 'realnvp', release);
    expect(await labRow(page, 'realnvp').getByTestId('lab-kl').textContent()).toMatch(/^-?\d+\.\d+ ± \d+\.\d+$/);
    const ess = await firstNumber(page, '[data-testid=lab-row][data-flow=realnvp] [data-testid=lab-ess]');
    expect(ess).toBeGreaterThan(0);
    expect(ess).toBeLessThanOrEqual(1);
  }, 400_000);

  it('trains on a CSV file, ranks its rows and projects two chosen columns', async () => {
    // Three correlated columns; line 42 (row 40 after the header) lies far from the rest.
    const rng = new Rng(11);
    const rows = Array.from({ length: 300 }, () => {
      const a = rng.normal();
      return [a, 0.8 * a + 0.3 * rng.normal(), 2 * rng.normal()].map((v) => v.toFixed(4)).join(',');
    });
    rows[40] = '9,-9,12';
    const file = join(folder, 'table.csv');
    await writeFile(file, `a,b,c\n${rows.join('\n')}\n`);
    await page.getByTestId('lab-mode-csv').click();
    // An empty tab turns Train off and says what to fill in.
    expect(await page.getByTestId('lab-train').isDisabled()).toBe(true);
    expect(await page.getByTestId('lab-train-note').textContent()).toMatch(/path of a CSV file/);
    await shootLab(page, shots, 'lab-train-off-csv');
    await page.getByTestId('lab-csv').fill(file);
    // Train pressed straight after typing (no "Use this target") trains on the file, as its note says.
    expect(await page.getByTestId('lab-train-note').textContent()).toMatch(/^Train will use CSV table\.csv first; the picture still shows /);
    await setFamily(page, 'realnvp', TINY);
    await shootLab(page, shots, 'lab-train-note-csv');
    await trainToTable(page, 'realnvp');
    expect(await labRow(page, 'realnvp').getAttribute('data-target')).toBe('CSV table.csv');
    expect(await page.getByTestId('lab-column-x').isVisible()).toBe(true);
    expect(await page.getByTestId('lab-train-note').count()).toBe(0);
    await labRow(page, 'realnvp').getByRole('button', { name: 'rank rows' }).click();
    const ranking = page.getByTestId('lab-ranking');
    await expect.poll(() => ranking.isVisible(), { timeout: 120_000 }).toBe(true);
    expect(await ranking.locator('tbody tr').first().locator('td').first().textContent()).toMatch(/^42\b/);
    expect(await ranking.locator('tbody tr').count()).toBe(50);
    // Another pair of columns moves the data's points; the model's samples are drawn too.
    const before = await pixelsOf(page, 'lab-target-heatmap');
    await page.getByTestId('lab-column-x').selectOption('2');
    await expect.poll(() => pixelsOf(page, 'lab-target-heatmap')).not.toBe(before);
    expect(await colours(page, 'lab-model-heatmap')).toBeGreaterThan(1);
    await shootLab(page, shots, 'lab-csv-ranking');
  }, 400_000);

  it('distils a MAF into an IAF and shows its KL to the teacher and both sampling times', async () => {
    await page.getByTestId('lab-mode-named').click();
    await page.getByTestId('lab-target-name').selectOption('8gaussians');
    await setFamily(page, 'maf', { ...TINY, hidden: 16, steps: 150 });
    await trainToTable(page, 'maf');
    const teacher = (await labRow(page, 'maf').locator('.id').textContent())!;
    await labRow(page, 'maf').getByTestId('lab-distil').click();
    expect(await page.getByTestId('lab-teacher').inputValue()).toBe(teacher);
    expect(await page.getByTestId('lab-flow').inputValue()).toBe('iaf');
    expect(await page.getByTestId('lab-flow').isDisabled()).toBe(true);
    expect(await page.getByTestId('lab-train').textContent()).toBe('Distil into an IAF');
    await setFamily(page, null, { ...TINY, hidden: 16, steps: 100 });
    await trainToTable(page, 'iaf');
    const student = page.locator(`[data-testid=lab-row][data-flow=iaf][data-teacher="${teacher}"]`);
    expect(await student.count()).toBe(1);
    expect(await student.getByTestId('lab-kl').textContent()).toMatch(/^-?\d+\.\d+ ± \d+\.\d+to its teacher, ESS \d\.\d\d$/);
    await expect.poll(() => page.getByTestId('lab-speedup').first().textContent(), { timeout: 120_000 }).toMatch(/^IAF samples 10,000 points in [\d.]+ m?s, its MAF teacher in [\d.]+ m?s/);
    // The comparison table fits the window at both layout sizes: no sideways scrolling.
    for (const size of LAYOUT_SIZES) {
      await page.setViewportSize(size);
      expect(await page.locator('.lab .table-scroll').first().evaluate((e) => e.scrollWidth - e.clientWidth)).toBeLessThanOrEqual(0);
    }
    await shootLab(page, shots, 'lab-distillation');
  }, 600_000);

  it('trains on a typed expression by reverse KL', async () => {
    await page.getByTestId('lab-mode-expression').click();
    const expression = 'x^2 / 2 + (y - sin(x))^2 * 2';
    await page.getByTestId('lab-expression').fill(expression);
    // The teacher chosen on the last target does not apply to the typed one: Train says Train, and the family is free again.
    expect(await page.getByTestId('lab-train').textContent()).toBe('Train');
    expect(await page.getByTestId('lab-flow').isDisabled()).toBe(false);
    await setFamily(page, 'realnvp', TINY);
    // Enter in a setting (the keyboard's Train) straight after typing trains the typed expression.
    await page.getByTestId('steps').press('Enter');
    await waitUntilScored(page, 'realnvp');
    expect(await page.locator('.lab .maps-head h3').textContent()).toBe(`U(x, y) = ${expression}`);
    expect(await labRow(page, 'realnvp').getAttribute('data-target')).toBe(`U(x, y) = ${expression}`);
    expect(await labRow(page, 'realnvp').getByTestId('lab-kl').textContent()).toMatch(/^-?\d+\.\d+ ± \d+\.\d+$/);
    expect(await firstNumber(page, '[data-testid=lab-row][data-flow=realnvp] [data-testid=lab-ess]')).toBeGreaterThan(0);
  }, 400_000);
});
