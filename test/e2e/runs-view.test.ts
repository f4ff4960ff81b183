// The Runs view in a real browser over a runs folder with four runs made on disk: a finished
// one, a paused one, one "trained from the CLI" (a live process holds its lock while the test
// appends its metrics) and an imported model. Checks the overlay updating live with loading
// shown and matching colours, names and notes persisting, sorting, the two-run diff, delete ->
// trash -> restore, delete refused while training, the imported status without Resume, Export…
// opening Explore's Export tab, every
// row's actions and name in view at 1400x900 and 1000x700, light and dark; the validation at
// each time mark with a dash where a run has not reached it, sorted like any column; and takes
// screenshots of the table there into $FLOWDESK_SHOTS (default test-results/screenshots/runs).
import { type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunDir } from '../../main/engine/runs/create-run.ts';
import { writeRunJson } from '../../main/engine/runs/run-json.ts';
import { writeRunStatus } from '../../main/engine/runs/run-status.ts';
import { resolveModelConfig } from '../../main/engine/models/config.ts';
import { resolveTrainConfig } from '../../main/engine/train/train-config.ts';
import { startAppServer } from '../helpers/app-server.ts';
import { launchBrowser, browserTestSkip } from '../helpers/browser.ts';
import { lockHeldElsewhere } from '../helpers/foreign-lock.ts';

const skip = browserTestSkip;
const shots = process.env.FLOWDESK_SHOTS ?? join('test-results', 'screenshots', 'runs');

/** `marks`: the time marks (minutes) answered, each by the evaluation at the step given. */
async function makeRun(runsDir: string, id: string, o: { steps: number; lr: number; hidden: number; created: string; imported?: boolean; rows?: number; marks?: Record<number, number> }): Promise<string> {
  const dir = await createRunDir(runsDir, id);
  const train = resolveTrainConfig({ steps: o.steps });
  train.optimizer.lr = o.lr;
  await writeRunJson(dir, {
    format: 'flowdesk.run',
    version: 1,
    name: id,
    created: o.created,
    model: resolveModelConfig({ kind: 'glow', size: 16, channels: 1, levels: 2, depth: 2, hidden: o.hidden }),
    train,
    data: { folder: o.imported ? '/exports/digits-model' : '/data/digits', bundled: false, fingerprint: 'f', train: 90, val: 10, skipped: 0 },
    ...(o.imported ? { imported: true } : {}),
    versions: { flowdesk: '0.0.0' },
  });
  const lines: string[] = [];
  for (let s = 1; s <= (o.rows ?? 0); s++) {
    lines.push(JSON.stringify({ type: 'train', step: s, time: s / 10, loss: 5 - s / 100 }));
    const marks = Object.entries(o.marks ?? {}).filter(([, step]) => step === s).map(([m]) => Number(m));
    if (s % 10 === 0) lines.push(JSON.stringify({ type: 'eval', step: s, time: s / 10, valBpd: 5.2 - s / 100, ...(marks.length ? { marks } : {}) }));
  }
  if (lines.length) await writeFile(join(dir, 'metrics.jsonl'), `${lines.join('\n')}\n`);
  return dir;
}

describe.skipIf(skip !== null)(`the Runs view${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let runsDir: string;
  let app: Awaited<ReturnType<typeof startAppServer>>;
  let browser: Browser;
  let page: Page;
  let trainer: ChildProcess;
  let liveDir: string;

  beforeAll(async () => {
    runsDir = await mkdtemp(join(tmpdir(), 'flowdesk-runs-view-'));
    const done = await makeRun(runsDir, '2026-11-30T07-00-00-aaaa', { steps: 100, lr: 0.001, hidden: 64, created: '2026-11-30T07:00:00Z', rows: 100, marks: { 1: 20, 3: 60 } });
    await writeRunStatus(done, { status: 'finished' });
    liveDir = await makeRun(runsDir, '2026-11-30T07-10-00-bbbb', { steps: 400, lr: 0.0005, hidden: 64, created: '2026-11-30T07:10:00Z', rows: 50 });
    // "flowdesk train" in another terminal: a live process holds the run's lock.
    trainer = await lockHeldElsewhere(liveDir, new Date().toISOString());
    // Never trained to its end by the app: no status.json, 80 of 200 steps, so it reads as paused.
    await makeRun(runsDir, '2026-11-30T06-50-00-cccc', { steps: 200, lr: 0.001, hidden: 64, created: '2026-11-30T06:50:00Z', rows: 80, marks: { 1: 30 } });
    await makeRun(runsDir, 'imported-digits-model', { steps: 1, lr: 0.001, hidden: 32, created: '2026-11-30T07:20:00Z', imported: true });
    app = await startAppServer(runsDir);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await mkdir(shots, { recursive: true });
    await page.goto(app.url);
    await page.getByTestId('nav-runs').click();
    await page.getByTestId('runs-table').locator('tbody tr').nth(2).waitFor({ timeout: 30_000 });
  }, 120_000);
  afterAll(async () => {
    trainer?.kill();
    await browser?.close();
    await app?.stop();
    if (runsDir) await rm(runsDir, { recursive: true, force: true });
  });

  const cell = (id: string, key: string) => page.getByTestId(`cell-${id}-${key}`);

  /** Holds the page's getRun calls until `release`, so a loading state is seen however fast the machine answers. */
  async function holdCurves(): Promise<{ release(): Promise<void> }> {
    const held: Route[] = [];
    const hold = (route: Route) => void held.push(route);
    await page.route('**/api/getRun', hold);
    return {
      async release() {
        for (const route of held.splice(0)) await route.continue();
        await page.unroute('**/api/getRun', hold); // also lets through any held since
      },
    };
  }

  /** Action buttons not wholly inside the table's visible box, and run names taller than one line. */
  function outOfView(): Promise<string[]> {
    return page.evaluate(() => {
      const box = document.querySelector('[data-testid=runs-table]')!.parentElement!.getBoundingClientRect();
      const rowOf = (el: Element) => el.closest('tr')!.getAttribute('data-testid');
      const all = Array.from(document.querySelectorAll('[data-testid^=run-row-] > td:last-child button'));
      const buttons = all
        .filter((b) => {
          const r = b.getBoundingClientRect();
          return r.left < box.left - 0.5 || r.right > box.right + 0.5;
        })
        .map((b) => `${rowOf(b)}: ${b.textContent} cut off`);
      const names = Array.from(document.querySelectorAll('[data-testid^=run-name-]'))
        .filter((n) => n.getBoundingClientRect().height > 30)
        .map((n) => `${rowOf(n)}: name on ${Math.round(n.getBoundingClientRect().height)} px`);
      return all.length < 4 * 5 ? [`only ${all.length} action buttons found`] : [...buttons, ...names];
    });
  }

  it('shows an imported model as imported, without Resume', async () => {
    expect(await cell('imported-digits-model', 'status').textContent()).toBe('imported');
    const row = page.getByTestId('run-row-imported-digits-model');
    expect(await row.getByRole('button', { name: 'Resume' }).count()).toBe(0);
    expect(await cell('2026-11-30T07-10-00-bbbb', 'status').textContent()).toBe('training');
    expect(await cell('2026-11-30T06-50-00-cccc', 'status').locator('.phase').textContent()).toBe('paused');
    expect(await page.getByTestId('run-row-2026-11-30T06-50-00-cccc').getByRole('button', { name: 'Resume' }).count()).toBe(1);
    // Opened in the Train view it is imported there too, with nothing to resume.
    await page.getByTestId('open-imported-digits-model').click();
    await expect.poll(() => page.locator('.meta .phase').textContent(), { timeout: 15_000 }).toBe('imported');
    expect(await page.getByTestId('resume').count()).toBe(0);
    await page.getByTestId('nav-runs').click();
    await page.getByTestId('runs-table').locator('tbody tr').nth(2).waitFor();
  });

  it('sorts by a column and back', async () => {
    const ids = async () => (await page.getByTestId('runs-table').locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-testid')))).map((t) => t!.replace('run-row-', ''));
    await page.getByTestId('col-lastValBpd').getByRole('button').click();
    expect(await ids()).toEqual(['2026-11-30T07-00-00-aaaa', '2026-11-30T06-50-00-cccc', '2026-11-30T07-10-00-bbbb', 'imported-digits-model']);
    await page.getByTestId('col-lastValBpd').getByRole('button').click();
    expect((await ids())[0]).toBe('2026-11-30T07-10-00-bbbb');
    await page.getByTestId('runs-filter').fill('imported');
    expect(await ids()).toEqual(['imported-digits-model']);
    await page.getByTestId('runs-filter').fill('');
  });

  it('gives the validation at 1, 3, 10 and 30 minutes, a dash where not reached, and sorts by it', async () => {
    const [a, c] = ['2026-11-30T07-00-00-aaaa', '2026-11-30T06-50-00-cccc'];
    const headers = await Promise.all([1, 3, 10, 30].map((m) => page.getByTestId(`col-at.${m}`).textContent()));
    expect(headers).toEqual(['1 min', '3 min', '10 min', '30 min']);
    const marks = (id: string) => Promise.all([1, 3, 10, 30].map((m) => cell(id, `at.${m}`).textContent()));
    expect(await marks(a)).toEqual(['5.000', '4.600', '—', '—']);
    expect(await marks(c)).toEqual(['4.900', '—', '—', '—']);
    expect(await marks('imported-digits-model')).toEqual(['—', '—', '—', '—']);
    const ids = async () => (await page.getByTestId('runs-table').locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-testid')))).map((t) => t!.replace('run-row-', ''));
    const sortBy = (key: string) => page.getByTestId(`col-${key}`).getByRole('button').click();
    await sortBy('at.1');
    expect((await ids()).slice(0, 2)).toEqual([c, a]);
    await sortBy('at.1');
    // Descending, with the runs that never reached the mark still last.
    expect((await ids()).slice(0, 2)).toEqual([a, c]);
    // Back to the table's own order, newest first.
    await sortBy('created');
    await sortBy('created');
    expect(await page.getByTestId('col-created').getAttribute('aria-sort')).toBe('descending');
  });

  it('names a run and keeps its notes across a reload', async () => {
    const id = '2026-11-30T07-00-00-aaaa';
    await page.getByTestId(`edit-${id}`).click();
    await page.getByTestId('name-input').fill('baseline lr 1e-3');
    await page.getByTestId('notes-input').fill('first try, no flips');
    await page.getByTestId('save-info').click();
    await expect.poll(() => page.getByTestId(`run-name-${id}`).textContent()).toBe('baseline lr 1e-3');
    expect(JSON.parse(await readFile(join(runsDir, id, 'info.json'), 'utf8'))).toEqual({ name: 'baseline lr 1e-3', notes: 'first try, no flips' });
    await page.reload();
    await page.getByTestId('nav-runs').click();
    await expect.poll(() => page.getByTestId(`run-name-${id}`).textContent(), { timeout: 15_000 }).toBe('baseline lr 1e-3');
    expect(await page.getByTestId(`run-row-${id}`).textContent()).toContain('first try, no flips');
  });

  it('overlays two runs in matching colours, highlights where they differ, and follows the live one', async () => {
    const [a, b] = ['2026-11-30T07-00-00-aaaa', '2026-11-30T07-10-00-bbbb'];
    const chart = page.getByTestId('overlay-chart');
    const legend = chart.getByTestId('chart-legend');
    // While a ticked run's curves load, the overlay is there at once and says so.
    let curves = await holdCurves();
    await page.getByTestId(`overlay-${a}`).check();
    await expect.poll(() => chart.getByRole('status').textContent()).toBe('Loading curves…');
    expect(await chart.getAttribute('aria-busy')).toBe('true');
    await curves.release();
    await expect.poll(() => legend.textContent(), { timeout: 15_000 }).toContain('baseline lr 1e-3 · val');
    await expect.poll(() => chart.getByRole('status').count()).toBe(0);
    curves = await holdCurves();
    await page.getByTestId(`overlay-${b}`).check();
    await expect.poll(() => legend.getByRole('status').textContent()).toBe('loading…');
    await curves.release();
    await expect.poll(() => legend.textContent(), { timeout: 15_000 }).toContain(`${b} · val`);
    const swatch = await page.getByTestId(`swatch-${b}`).evaluate((el) => getComputedStyle(el).backgroundColor);
    const legendSwatch = await legend.locator('span', { hasText: `${b} · val` }).locator('i').evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(legendSwatch).toBe(swatch);
    // Learning rate and steps differ; hidden width does not.
    expect(await cell(a, 'train.lr').getAttribute('class')).toContain('diff');
    expect(await cell(b, 'train.steps').getAttribute('class')).toContain('diff');
    expect(await page.getByTestId('compare-note').textContent()).toMatch(/setting\(s\) where the two ticked runs differ/);
    // The live run moves on: its row and its curve follow within a few polls.
    const before = await legend.locator('span', { hasText: `${b} · val` }).locator('b').textContent();
    const more: string[] = [];
    for (let s = 51; s <= 120; s++) {
      more.push(JSON.stringify({ type: 'train', step: s, time: s / 10, loss: 2 }));
      if (s % 10 === 0) more.push(JSON.stringify({ type: 'eval', step: s, time: s / 10, valBpd: 1.5 }));
    }
    await appendFile(join(liveDir, 'metrics.jsonl'), `${more.join('\n')}\n`);
    await expect.poll(() => cell(b, 'step').textContent(), { timeout: 15_000 }).toBe('120 / 400');
    await expect.poll(() => legend.locator('span', { hasText: `${b} · val` }).locator('b').textContent(), { timeout: 15_000 }).toBe('1.500');
    expect(before).not.toBe('1.500');
  });

  it('draws the overlay against training time too, and zooms in and back', async () => {
    const chart = page.getByTestId('overlay-chart');
    const at = chart.getByTestId('chart-legend').locator('.at');
    const box = (await chart.locator('.u-over').boundingBox())!;
    const y = box.y + box.height / 2;
    /** The x value the legend reads with the pointer at `f` of the plot's width. */
    const hoverAt = async (f: number) => {
      await page.mouse.move(box.x + box.width * f, y);
      await expect.poll(() => at.count()).toBe(1);
      return (await at.textContent())!;
    };
    // Zoom: drag across the right half; the left edge then reads a later step; reset brings it back.
    const leftEdge = await hoverAt(0.01);
    expect(leftEdge).toMatch(/^step \d+$/);
    await page.mouse.move(box.x + box.width * 0.5, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.9, y, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => hoverAt(0.01).then((t) => Number(t.replace('step ', '')))).toBeGreaterThan(Number(leftEdge.replace('step ', '')) + 20);
    await chart.getByTestId('chart-reset').click();
    await expect.poll(() => hoverAt(0.01)).toBe(leftEdge);
    // Wall-clock axis: the legend reads training time (the runs logged a step every 0.1 s).
    await chart.getByTestId('chart-x-time').click();
    await expect.poll(() => hoverAt(0.5)).toMatch(/^\d+ s$/);
    await chart.getByTestId('chart-x-step').click();
    await page.mouse.move(0, 0);
  });

  it('refuses to delete the run that trains, with RUN_LOCKED and a sentence', async () => {
    const b = '2026-11-30T07-10-00-bbbb';
    expect(await page.getByTestId(`delete-${b}`).isDisabled()).toBe(true);
    const answer = await page.evaluate(async (runId) => {
      const token = new URLSearchParams(location.search).get('token') ?? sessionStorage.getItem('flowdesk-token') ?? '';
      const res = await fetch('/api/deleteRun', { method: 'POST', headers: { 'content-type': 'application/json', 'x-flowdesk-token': token }, body: JSON.stringify({ runId }) });
      return res.json();
    }, b);
    expect(answer).toMatchObject({ ok: false, error: { code: 'RUN_LOCKED', message: expect.stringMatching(/is training now, so it cannot be deleted; pause or cancel it first/) } });
  });

  it('keeps every row\'s actions and one-line run names in view at 1400x900 and 1000x700, light and dark', async () => {
    const scroller = page.getByTestId('runs-table').locator('..');
    for (const [w, h] of [[1400, 900], [1000, 700]] as const) {
      for (const scheme of ['light', 'dark'] as const) {
        const where = `${w}x${h} ${scheme}`;
        await page.setViewportSize({ width: w, height: h });
        await page.emulateMedia({ colorScheme: scheme });
        await scroller.evaluate((el) => (el.scrollLeft = 0));
        // Nothing runs past the window: the table scrolls inside its panel.
        await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth - innerWidth), { message: where }).toBeLessThanOrEqual(0);
        expect(await outOfView(), where).toEqual([]);
        await page.screenshot({ path: join(shots, `runs-${w}x${h}-${scheme}.png`), fullPage: true });
        // Scrolled to its far end, the settings pass beneath while the actions stay.
        await scroller.evaluate((el) => (el.scrollLeft = el.scrollWidth));
        expect(await outOfView(), `${where}, scrolled`).toEqual([]);
      }
    }
    await scroller.evaluate((el) => (el.scrollLeft = 0));
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  it('opens a run\'s Export… in Explore\'s Export tab, with both formats offered', async () => {
    const id = '2026-11-30T07-00-00-aaaa';
    await page.getByTestId(`export-${id}`).click();
    await expect.poll(() => page.getByTestId('tab-export').getAttribute('aria-selected'), { timeout: 15_000 }).toBe('true');
    expect(await page.getByTestId('export').isVisible()).toBe(true);
    expect(await page.getByTestId('export-onnx').isVisible()).toBe(true);
    expect(await page.getByTestId('explore-run').inputValue()).toBe(id);
    await page.getByTestId('nav-runs').click();
    await page.getByTestId('runs-table').locator('tbody tr').nth(2).waitFor();
  });

  it('deletes a run to the trash and restores it', async () => {
    const id = 'imported-digits-model';
    await page.getByTestId(`delete-${id}`).click();
    await expect.poll(() => page.getByTestId(`run-row-${id}`).count(), { timeout: 15_000 }).toBe(0);
    expect(existsSync(join(runsDir, id))).toBe(false);
    await page.getByTestId('trash').locator('summary').click();
    await page.screenshot({ path: join(shots, 'runs-trash.png'), fullPage: true });
    await page.getByTestId(`restore-${id}`).click();
    await expect.poll(() => page.getByTestId(`run-row-${id}`).count(), { timeout: 15_000 }).toBe(1);
    expect(existsSync(join(runsDir, id, 'run.json'))).toBe(true);
  });

  it('opens a run in the Train view: hover values, log scale, CSV of the curves', async () => {
    const id = '2026-11-30T07-00-00-aaaa';
    await page.getByTestId(`open-${id}`).click();
    const chart = page.getByTestId('chart');
    const legend = chart.getByTestId('chart-legend');
    await expect.poll(() => legend.textContent(), { timeout: 15_000 }).toMatch(/train\s+\d\.\d{3}.*validation\s+4\.200/s);
    const over = chart.locator('.u-over');
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => legend.textContent()).toMatch(/step \d+/);
    await chart.getByTestId('chart-log').check();
    await expect.poll(() => legend.textContent()).toMatch(/train\s+\d\.\d{3}/);
    const [download] = await Promise.all([page.waitForEvent('download'), chart.getByTestId('chart-csv').click()]);
    const csv = await readFile((await download.path())!, 'utf8');
    expect(csv.split('\n')[0]).toBe('step,train,validation');
    expect(csv.split('\n')).toHaveLength(102); // header, 100 steps, final newline
    await chart.getByTestId('chart-log').uncheck();
    for (const [w, h] of [[1400, 900], [1000, 700]] as const) {
      for (const scheme of ['light', 'dark'] as const) {
        await page.setViewportSize({ width: w, height: h });
        await page.emulateMedia({ colorScheme: scheme });
        await page.waitForTimeout(300);
        await page.screenshot({ path: join(shots, `train-chart-${w}x${h}-${scheme}.png`), fullPage: true });
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  it('names in model menus the checkpoint a model loads, read again when the menu gets focus', async () => {
    const b = '2026-11-30T07-10-00-bbbb';
    await page.getByTestId('nav-projector').click();
    const menu = page.getByTestId('projector-run');
    const option = menu.locator(`option[value="${b}"]`);
    await expect.poll(() => option.textContent(), { timeout: 15_000 }).toBe(`${b} (glow, no checkpoint yet)`);
    // The trainer in the other process writes a checkpoint at step 100; the run has logged 120 steps.
    await mkdir(join(liveDir, 'checkpoints', 'step-100'));
    await menu.focus();
    await expect.poll(() => option.textContent(), { timeout: 15_000 }).toBe(`${b} (glow, checkpoint step 100)`);
  });
});
