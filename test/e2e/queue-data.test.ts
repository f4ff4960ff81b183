// The Data view after a failed import and the run queue, in a real browser: a failed import
// clears the old report and keeps size and colour, and the Train view does not claim the old
// data; a folder outside the readable ones is imported once the person at the serve terminal
// says yes (and stays refused after a no); two queued runs both finish in order; a paused run
// offers Resume as the main action.
// Screenshots at 1400x900 and 1000x700, light and dark, go to test-results/screenshots/queue-data.
import { type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../preload/api.ts';
import { rememberedFolders, terminalConfirm } from '../../main/folder-access.ts';
import { startAppServer } from '../helpers/app-server.ts';
import { launchBrowser, browserTestSkip } from '../helpers/browser.ts';
import { fakeTerminal } from '../helpers/fake-terminal.ts';
import { lockHeldElsewhere } from '../helpers/foreign-lock.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

const skip = browserTestSkip;
const shots = process.env.FLOWDESK_SHOTS ?? join('test-results', 'screenshots', 'queue-data');
const SIZES = [
  { width: 1400, height: 900 },
  { width: 1000, height: 700 },
];

async function screenshots(page: Page, name: string): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const size of SIZES) {
      await page.setViewportSize(size);
      await page.screenshot({ path: join(shots, `${name}-${size.width}x${size.height}-${scheme}.png`) });
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize(SIZES[0]);
}

describe.skipIf(skip !== null)(`queue and data in browser mode${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let app: Awaited<ReturnType<typeof startAppServer>>;
  let browser: Browser;
  let page: Page;
  let holder: ChildProcess | null = null;
  // The person at the serve terminal says no to the first question and yes to the next.
  const terminal = fakeTerminal(['n', 'y']);
  let outside: string | null = null;

  beforeAll(async () => {
    app = await startAppServer(undefined, { confirmFolder: terminalConfirm(terminal) });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: SIZES[0] });
    await mkdir(shots, { recursive: true });
    await page.goto(app.url);
  });
  afterAll(async () => {
    holder?.kill();
    if (outside) await rm(outside, { recursive: true, force: true });
    await browser?.close();
    await app?.stop();
  });

  it('a failed import clears the old report, keeps size and colour, and the Train view says so within its panel', async () => {
    // A long path, as a person's data folders often have: the Train view must not run past its panel.
    const missing = join(tmpdir(), `flowdesk-no-such-folder-${'with-a-long-name-'.repeat(8)}end`);
    await page.getByTestId('import').click(); // the bundled digits
    await expect.poll(() => page.getByTestId('import-report').isVisible(), { timeout: 60_000 }).toBe(true);
    await page.getByTestId('source-folder').check();
    await page.getByTestId('folder-path').fill(missing);
    await page.getByTestId('image-size').selectOption('16');
    await page.getByTestId('channels').selectOption('3');
    await page.getByTestId('import').click();
    await expect.poll(() => page.getByTestId('import-failed').isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await page.getByTestId('import-failed').textContent()).toContain('flowdesk-no-such-folder');
    // Allowing a folder that does not exist would not help, so it is not offered.
    expect(await page.getByTestId('allow-folder').count()).toBe(0);
    expect(await page.getByTestId('import-report').count()).toBe(0);
    expect(await page.getByTestId('image-size').inputValue()).toBe('16');
    expect(await page.getByTestId('channels').inputValue()).toBe('3');
    await screenshots(page, 'data-failed-import');
    await page.getByTestId('nav-train').click();
    const dataset = await page.getByTestId('dataset').textContent();
    expect(dataset).not.toContain('bundled digits');
    expect(dataset).toContain(`${missing} · 16×16 RGB (import failed`);
    for (const size of SIZES) {
      await page.setViewportSize(size);
      const text = (await page.getByTestId('dataset').locator('b').boundingBox())!;
      const panel = (await page.locator('form.settings').boundingBox())!;
      expect(text.x + text.width, `${size.width}x${size.height}`).toBeLessThanOrEqual(panel.x + panel.width);
    }
    await page.setViewportSize(SIZES[0]);
  });

  it('imports a folder outside the readable ones once the person at the serve terminal says yes', async () => {
    // /var/tmp lies outside home, temp and the working folder, the roots the page may read.
    outside = realpathSync(await mkdtemp('/var/tmp/flowdesk-outside-'));
    const images = await makeImageFolder({ count: 12, size: 8, channels: 1 });
    await cp(images.dir, outside, { recursive: true });
    await images.cleanup();
    await page.getByTestId('nav-data').click();
    await page.getByTestId('folder-path').fill(outside);
    await page.getByTestId('image-size').selectOption('8');
    await page.getByTestId('channels').selectOption('1');
    await page.getByTestId('import').click();
    await expect.poll(() => page.getByTestId('import-failed').textContent(), { timeout: 30_000 }).toContain(outside);
    await page.getByTestId('allow-folder').click();
    await expect.poll(() => page.getByTestId('import-failed').textContent(), { timeout: 30_000 }).toContain('was not allowed in the terminal that runs flowdesk serve');
    expect(await rememberedFolders(app.runsDir)).toEqual([]);
    await page.getByTestId('allow-folder').click();
    await expect.poll(() => page.getByTestId('import-report').isVisible(), { timeout: 60_000 }).toBe(true);
    expect(await page.getByTestId('import-report').textContent()).toMatch(/12\s*images/);
    expect(terminal.printed()).toContain(`Allow FlowDesk to read ${outside}? [y/N]`);
    expect(await rememberedFolders(app.runsDir)).toEqual([outside]);
    await screenshots(page, 'data-allowed-folder');
  });

  it('two queued runs both finish, in the order they were queued', async () => {
    await page.getByTestId('nav-data').click();
    await page.getByLabel(/Bundled digits/).check();
    await page.getByTestId('import').click();
    await expect.poll(() => page.getByTestId('import-report').isVisible(), { timeout: 60_000 }).toBe(true);
    await page.getByTestId('nav-train').click();
    await page.getByTestId('batch').fill('8');
    await page.getByTestId('steps').fill('4');
    await page.getByTestId('eval-every').fill('2');
    for (const [i, lr] of ['0.001', '0.002'].entries()) {
      await page.getByTestId('lr').fill(lr);
      await expect.poll(() => page.getByTestId('lr').inputValue()).toBe(lr);
      await page.getByTestId('queue-add').click();
      // The first entry starts at once; queue the second once the first is a run.
      if (i === 0) await expect.poll(async () => ((await app.host.call<RunSummary[]>('listRuns')) as { value?: RunSummary[] }).value?.length ?? 0, { timeout: 60_000, interval: 200 }).toBe(1);
    }
    await expect.poll(async () => (await app.host.call<RunSummary[]>('listRuns')) as { ok: boolean; value?: RunSummary[] }, { timeout: 180_000, interval: 500 })
      .toMatchObject({ ok: true, value: [{ status: 'finished' }, { status: 'finished' }] });
    const runs = (await app.host.call<RunSummary[]>('listRuns')) as { ok: true; value: RunSummary[] };
    // Newest first: the second queued run started last.
    expect(runs.value.map((r) => r.train.lr)).toEqual([0.002, 0.001]);
    await expect.poll(() => page.getByTestId('queue-entry').count(), { timeout: 15_000 }).toBe(0);
  }, 240_000);

  it('a paused run offers Resume as the main action, beside a waiting queue', async () => {
    await page.getByTestId('steps').fill('2000');
    await page.getByTestId('start').click();
    await expect.poll(async () => Number(await page.getByTestId('step').textContent()), { timeout: 60_000 }).toBeGreaterThan(0);
    // Another process "training" on this runs folder holds the queue, so entries stay listed.
    holder = await lockHeldElsewhere(join(app.runsDir, 'elsewhere'), new Date().toISOString());
    await page.getByTestId('pause').click();
    await expect.poll(() => page.locator('.meta .phase').textContent(), { timeout: 60_000 }).toBe('paused');
    for (const lr of ['0.0005', '0.001', '0.002']) {
      await page.getByTestId('lr').fill(lr);
      await page.getByTestId('queue-add').click();
    }
    await expect.poll(() => page.getByTestId('queue-entry').count(), { timeout: 15_000 }).toBe(3);
    await expect.poll(() => page.getByTestId('queue').textContent()).toMatch(/Run elsewhere is training in another process/);
    const resume = page.getByTestId('resume');
    expect(await resume.getAttribute('class')).toContain('primary');
    const box = await resume.boundingBox();
    expect(box!.height).toBeLessThan(60); // one line, not wrapped
    expect(await page.getByTestId('start').textContent()).toBe('Start new run');
    await screenshots(page, 'train-paused-queue');
  }, 180_000);
});
