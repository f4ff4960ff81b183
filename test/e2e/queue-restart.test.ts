// The run queue across a restart and a failure, in a real browser over a real `flowdesk serve`
// process (issue 14, "a queue"): two runs queued while another process trains on the runs
// folder are still listed after the server stops and starts again on that folder; then the
// first one's folder is gone, so it cannot start: the queue says so and the next run starts and
// finishes.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../preload/api.ts';
import { rendererDir } from '../../main/cli/serve-command.ts';
import { importInPage } from '../helpers/app-page.ts';
import { launchBrowser, browserTestSkip } from '../helpers/browser.ts';
import { lockHeldElsewhere } from '../helpers/foreign-lock.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';
import { callServe, spawnServe, type ServeProcess } from '../helpers/serve-process.ts';

const skip = browserTestSkip;

describe.skipIf(skip !== null)(`the run queue across a restart in browser mode${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let runs: string;
  let server: ServeProcess | null = null;
  let browser: Browser;
  let page: Page;
  let holder: ChildProcess | null = null;
  let gone: Awaited<ReturnType<typeof makeImageFolder>>;
  let kept: Awaited<ReturnType<typeof makeImageFolder>>;

  /** Stops the server as a terminal's Ctrl-C does, and waits for it to exit. */
  async function stopServer(): Promise<void> {
    if (!server) return;
    process.kill(-server.child.pid!, 'SIGINT');
    await server.exited;
    server = null;
  }

  beforeAll(async () => {
    runs = await mkdtemp(join(tmpdir(), 'flowdesk-queue-runs-'));
    gone = await makeImageFolder({ count: 12, size: 8, channels: 1, seed: 1 });
    kept = await makeImageFolder({ count: 12, size: 8, channels: 1, seed: 2 });
    // Another process "training" on this runs folder holds the queue.
    holder = await lockHeldElsewhere(join(runs, 'elsewhere'), new Date().toISOString());
    server = await spawnServe(runs, rendererDir());
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(server.url);
  });
  afterAll(async () => {
    holder?.kill();
    await browser?.close();
    await stopServer();
    await gone?.cleanup();
    await kept?.cleanup();
    if (runs) await rm(runs, { recursive: true, force: true });
  });

  it('keeps the queued runs across a server restart', async () => {
    for (const folder of [gone.dir, kept.dir]) {
      await page.getByTestId('nav-data').click();
      await importInPage(page, folder, 8, 1);
      await page.getByTestId('nav-train').click();
      await page.getByTestId('batch').fill('8');
      await page.getByTestId('steps').fill('4');
      await page.getByTestId('eval-every').fill('2');
      await page.getByTestId('queue-add').click();
    }
    const entries = page.getByTestId('queue-entry');
    await expect.poll(() => entries.allTextContents(), { timeout: 15_000 }).toEqual([expect.stringContaining(gone.dir), expect.stringContaining(kept.dir)]);
    await expect.poll(() => page.getByTestId('queue').textContent()).toMatch(/Run elsewhere is training in another process/);

    await stopServer();
    server = await spawnServe(runs, rendererDir());
    await page.goto(server.url);
    await page.getByTestId('nav-train').click();
    await expect.poll(() => entries.allTextContents(), { timeout: 15_000 }).toEqual([expect.stringContaining(gone.dir), expect.stringContaining(kept.dir)]);
    await expect.poll(() => page.getByTestId('queue').textContent(), { timeout: 15_000 }).toMatch(/Run elsewhere is training in another process/);
  });

  it('reports a queued run that cannot start and starts the next, which finishes', async () => {
    await gone.cleanup();
    holder!.kill();
    holder = null;
    // The queue looks again every few seconds while another process trains.
    const failed = page.getByTestId('queue').getByRole('alert');
    await expect.poll(() => failed.textContent({ timeout: 100 }).catch(() => null), { timeout: 60_000 }).toMatch(/^Could not start \w+ 8×8 gray · lr /);
    expect(await failed.textContent()).toContain(gone.dir);
    const listRuns = async () => (await callServe<RunSummary[]>(server!, 'listRuns', null)).value?.filter((r) => r.folder === kept.dir);
    await expect.poll(listRuns, { timeout: 240_000, interval: 500 }).toMatchObject([{ status: 'finished', step: 4 }]);
    expect((await callServe<RunSummary[]>(server!, 'listRuns', null)).value?.filter((r) => r.folder === gone.dir)).toEqual([]);
    await expect.poll(() => page.getByTestId('queue-entry').count(), { timeout: 15_000 }).toBe(0);
  }, 300_000);
});
