// The same app in a real Electron window, where the Electron binary is present: the window is
// locked down and the app answers through the preload's Api. Skipped with the reason where the
// binary is absent (its download fails on machines without internet access).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { _electron as electron } from 'playwright-core';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

function electronBinary(): string | null {
  try {
    const dir = dirname(require.resolve('electron/package.json'));
    const pathFile = join(dir, 'path.txt');
    const path = existsSync(pathFile) ? join(dir, 'dist', readFileSync(pathFile, 'utf8').trim()) : null;
    return path && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

const binary = electronBinary();
const root = join(import.meta.dirname, '..', '..');
const skip = binary === null ? 'the Electron binary is not installed (it downloads on first `npm start`)' : !existsSync(join(root, 'out', 'main', 'index.js')) ? 'the app is not built' : null;

describe.skipIf(skip !== null)(`the Electron app${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('opens a locked-down window whose page reaches the worker through the preload', async () => {
    const app = await electron.launch({ executablePath: binary!, args: [root], env: { ...process.env, FLOWDESK_RUNS_DIR: join(root, 'test-results', 'electron-runs') } });
    try {
      const page = await app.firstWindow();
      await expect.poll(() => page.locator('.foot').textContent(), { timeout: 30_000 }).toContain('Desktop');
      const prefs = await app.evaluate(({ BrowserWindow }) => {
        const w = BrowserWindow.getAllWindows()[0];
        return (w.webContents as unknown as { getLastWebPreferences(): Record<string, unknown> }).getLastWebPreferences();
      });
      expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });
      expect(await page.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe('undefined');
      const csp = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '');
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-eval');
      expect(await page.evaluate(() => {
        try {
          return new Function('return "ran"')() as string;
        } catch {
          return 'blocked';
        }
      })).toBe('blocked');
      expect(await page.evaluate(() => window.open('https://example.com/') === null)).toBe(true);
      const info = await page.evaluate(() => (window as unknown as { flowdesk: { getAppInfo(): Promise<unknown> } }).flowdesk.getAppInfo());
      expect(info).toMatchObject({ ok: true, value: { mode: 'electron' } });
      await page.getByTestId('import').click();
      await expect.poll(() => page.getByTestId('import-report').isVisible(), { timeout: 60_000 }).toBe(true);
    } finally {
      await app.close();
    }
  });
});
