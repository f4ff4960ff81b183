// One runs folder for the CLI and the app (issue 12): a run trained with `flowdesk train` and no
// output option lands in the per-user runs folder, and the app in browser mode lists it, as
// training while the CLI trains it (from its lock) and as paused once the CLI stops.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { defaultRunsDir } from '../../main/engine/app-paths.ts';
import { startAppServer } from '../helpers/app-server.ts';
import { launchBrowser, browserTestSkip } from '../helpers/browser.ts';
import { BIN, cliEnv, defaultRunsIn } from '../helpers/cli-env.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

const skip = browserTestSkip;

describe.skipIf(skip !== null)(`a CLI run in the app${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let home: string;
  let images: Awaited<ReturnType<typeof makeImageFolder>>;
  let app: Awaited<ReturnType<typeof startAppServer>>;
  let browser: Browser;
  let page: Page;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'flowdesk-e2e-home-'));
    images = await makeImageFolder({ count: 16, size: 8, channels: 1 });
    // The app's runs folder as `flowdesk serve` and Electron pick it, under the same environment as the CLI's.
    vi.stubEnv('XDG_DATA_HOME', join(home, 'data'));
    vi.stubEnv('FLOWDESK_RUNS_DIR', '');
    const runsDir = defaultRunsDir();
    vi.unstubAllEnvs();
    expect(runsDir).toBe(defaultRunsIn(home));
    app = await startAppServer(runsDir);
    browser = await launchBrowser();
    page = await browser.newPage();
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await browser?.close();
    await app?.stop();
    await images?.cleanup();
    await rm(home, { recursive: true, force: true });
  });

  it('lists a run the CLI trains as training, then paused once the CLI stops', async () => {
    const args = ['train', images.dir, '--size', '8', '--channels', '1', '--levels', '1', '--depth', '1', '--hidden', '8', '--batch', '4', '--steps', '100000', '--eval-every', '2', '--checkpoint-every', '2', '--name', 'from-cli', '--json'];
    const cli = spawn(process.execPath, [BIN, ...args], { env: cliEnv(home, { FLOWDESK_CACHE: join(home, 'cache') }) });
    child = cli;
    let out = '';
    cli.stdout!.on('data', (d) => (out += d));
    await vi.waitFor(() => expect(out).toMatch(/"type":"checkpoint","step":2,/), { timeout: 60_000, interval: 100 });
    expect(out).toContain(JSON.stringify(join(defaultRunsIn(home), 'from-cli')));

    await page.goto(app.url);
    await page.getByTestId('nav-runs').click();
    const row = page.getByTestId('runs-table').locator('tr', { hasText: 'from-cli' });
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
    expect(await row.locator('.phase').textContent()).toBe('training');

    cli.kill('SIGINT'); // stops after a checkpoint
    expect(await new Promise((resolve) => cli.on('exit', resolve))).toBe(130);
    child = undefined;
    await page.getByRole('button', { name: 'refresh' }).click();
    await expect.poll(() => row.locator('.phase').textContent(), { timeout: 30_000 }).toBe('paused');
  });
});
