// A run in progress, in a real browser (issue 14 points 1-3): after Start the Train view names
// each phase before the first point and holds the ETA back ("estimating…") until the pace is
// steady, then keeps it; reconstruct and interpolate in Explore answer while the run still
// trains; the projector's encoding shows its progress (done of total) and Cancel stops it.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRAIN_PHASES } from '../../common/train-phases.ts';
import type { RunSummary } from '../../preload/api.ts';
import { importInPage } from '../helpers/app-page.ts';
import { startAppServer } from '../helpers/app-server.ts';
import { launchBrowser, browserTestSkip } from '../helpers/browser.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

const skip = browserTestSkip;

/** What the Train view's status showed at one moment. */
interface Shown {
  step: number;
  eta: string | null;
  phase: string | null;
  status: string | null;
}

/** From now on, records every state the Train view's status is drawn in (one entry per change). */
async function recordTrainStatus(page: Page): Promise<void> {
  await page.evaluate(() => {
    const log: Shown[] = [];
    (window as unknown as { shown: Shown[] }).shown = log;
    const text = (selector: string) => document.querySelector(selector)?.textContent ?? null;
    new MutationObserver(() => {
      const now: Shown = { step: Number(text('[data-testid=step]')), eta: text('[data-testid=eta]'), phase: text('[data-testid=train-phase]'), status: text('.meta .phase') };
      const last = log.at(-1);
      if (!last || last.step !== now.step || last.eta !== now.eta || last.phase !== now.phase || last.status !== now.status) log.push(now);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

/** A duration as the view writes it: "12 s", "3 min 05 s", "1 h 02 min". */
const DURATION = /^\d+ (h|min|s)\b/;

describe.skipIf(skip !== null)(`a run in progress in browser mode${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let app: Awaited<ReturnType<typeof startAppServer>>;
  let browser: Browser;
  let page: Page;
  let images: Awaited<ReturnType<typeof makeImageFolder>>;
  let runId: string;

  const runStatus = async () => ((await app.host.call<RunSummary[]>('listRuns')) as { value: RunSummary[] }).value.find((r) => r.id === runId)?.status;
  const step = async () => Number(await page.getByTestId('step').textContent());

  beforeAll(async () => {
    // Enough images that the projector has some 400 validation images to encode: seconds of work.
    images = await makeImageFolder({ count: 4000, size: 16, channels: 3, pattern: 'blobs', seed: 7 });
    app = await startAppServer();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(app.url);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await images?.cleanup();
  });

  it('names the phases after Start before the first point, holds the ETA back, then shows it and keeps it', async () => {
    await importInPage(page, images.dir, 16, 3);
    await page.getByTestId('nav-train').click();
    await page.getByTestId('batch').fill('8');
    await page.getByTestId('steps').fill('100000');
    // No evaluations or checkpoints after the first: the pace is the steps' own.
    await page.getByTestId('eval-every').fill('100000');
    await page.getByTestId('checkpoint-every').fill('100000');
    await recordTrainStatus(page);
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('eta').textContent(), { timeout: 300_000, interval: 250 }).toMatch(DURATION);
    const shown = await page.evaluate(() => (window as unknown as { shown: Shown[] }).shown);
    runId = (await app.host.call<RunSummary[]>('listRuns') as { value: RunSummary[] }).value[0].id;

    // The phases, in their order, all before the first point.
    const first = shown.findIndex((s) => s.step > 0);
    expect(first).toBeGreaterThan(0);
    const phases = [...new Set(shown.map((s) => s.phase).filter((p) => p !== null))];
    const order = Object.values(TRAIN_PHASES).map((name) => `${name}…`);
    expect(phases).toEqual(order.filter((p) => phases.includes(p)));
    expect(phases).toEqual(expect.arrayContaining(['Loading images…', 'Initialising the model…']));
    expect(shown.slice(first).every((s) => s.phase === null)).toBe(true);

    // The first ten steps give fewer than ten intervals: no ETA yet.
    const early = shown.filter((s) => s.step >= 1 && s.step <= 10);
    expect(early.length).toBeGreaterThan(0);
    expect(early.map((s) => s.eta)).toEqual(early.map(() => 'estimating…'));
    // Once shown, the ETA stays while the run trains.
    const steady = shown.findIndex((s) => s.eta !== null && DURATION.test(s.eta));
    expect(shown.slice(steady).filter((s) => s.status === 'training').map((s) => s.eta)).not.toContain('estimating…');
    expect(await runStatus()).toBe('training');
  });

  it('reconstructs and interpolates in Explore while the run trains', async () => {
    await page.getByTestId('nav-explore').click();
    await expect.poll(() => page.getByTestId('explore-run').inputValue()).toBe(runId);
    await page.getByTestId('tab-reconstruct').click();
    await page.getByTestId('reconstruct-file').setInputFiles(images.good[0]);
    await expect.poll(() => page.getByTestId('reconstruct').isEnabled()).toBe(true);
    expect(await runStatus()).toBe('training');
    await page.getByTestId('reconstruct').click();
    await expect.poll(() => page.getByTestId('max-error').textContent(), { timeout: 60_000 }).toMatch(/^[01]$/);
    // A run that stopped is never "training" again unless resumed: it trained all along.
    expect(await runStatus()).toBe('training');

    await page.getByTestId('tab-interpolate').click();
    await page.getByTestId('interp-file-1').setInputFiles(images.good[1]);
    await page.getByTestId('interp-file-2').setInputFiles(images.good[2]);
    await expect.poll(() => page.locator('.slot img').count()).toBe(2);
    await page.getByTestId('interpolate').click();
    await expect.poll(() => page.locator('[data-testid=interpolation] img').count(), { timeout: 60_000 }).toBe(2);
    expect(await runStatus()).toBe('training');

    await page.getByTestId('nav-train').click();
    const reached = await step();
    await expect.poll(step, { timeout: 60_000 }).toBeGreaterThan(reached);
  });

  it("shows the projector's encoding as done of total, and Cancel stops it with no map", async () => {
    await page.getByTestId('nav-projector').click();
    await expect.poll(() => page.getByTestId('projector-run').inputValue()).toBe(runId);
    await page.getByTestId('project').click();
    const progress = page.getByTestId('job-progress');
    await expect.poll(() => progress.isVisible(), { timeout: 60_000, interval: 50 }).toBe(true);
    const text = async () => (await progress.textContent())!.replace(/,/g, '');
    const count = Number(/Mapping (\d+) validation images/.exec(await text())?.[1]);
    expect(count).toBeGreaterThan(200);
    // Two units per image (encoding it, then scoring it), counted as they are done.
    const done = async () => Number(new RegExp(`(\\d+) of ${2 * count}`).exec(await text())?.[1]);
    await expect.poll(done, { timeout: 60_000, interval: 50 }).toBeGreaterThan(0);
    expect(await page.getByTestId('project').isEnabled()).toBe(false);
    await page.getByTestId('job-cancel').click();
    const cancelled = page.getByTestId('job-cancelled');
    await expect.poll(() => cancelled.isVisible(), { timeout: 60_000 }).toBe(true);
    expect(await cancelled.textContent()).toBe(`Mapping ${count} validation images was cancelled; nothing was kept.`);
    expect(await page.getByTestId('projector-map').count()).toBe(0);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.getByTestId('project').isEnabled()).toBe(true);
    expect(await runStatus()).toBe('training');
  });
});
