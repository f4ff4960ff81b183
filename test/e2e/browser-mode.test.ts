// Browser mode end to end: the built app served on loopback with a token, opened in Chromium;
// requests without the token, with a foreign Host or Origin, or outside the app are refused.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rendererDir } from '../../main/cli/serve-command.ts';
import { serve, type RunningServer } from '../../main/server.ts';
import { launchBrowser, browserTestSkip } from '../helpers/browser.ts';

const skip = browserTestSkip;

describe.skipIf(skip !== null)(`browser mode${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await serve({ rendererDir: rendererDir(), call: async (method) => (method === 'getAppInfo' ? { ok: true, value: { version: 'test', mode: 'browser', platform: 'linux' } } : { ok: false, error: { code: 'BAD_ARGUMENT', message: 'no' } }) });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows the app through the printed URL', async () => {
    const page = await browser.newPage();
    const refused: string[] = [];
    page.on('response', (r) => {
      if (r.status() === 401 || r.status() === 403) refused.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(server.url);
    await expect.poll(() => page.textContent('.foot')).toContain('Browser mode');
    // Scripts and styles carry no token in their URLs: the page's cookie must have let them in.
    expect(refused).toEqual([]);
    expect(await page.evaluate(() => document.cookie)).toBe(''); // HttpOnly: page scripts never see the token
    await page.close();
  });

  it('shows nothing to a page opened without the token', async () => {
    const page = await browser.newPage();
    const res = await page.goto(`http://127.0.0.1:${server.port}/`);
    expect(res?.status()).toBe(401);
    await page.close();
  });

  it('refuses requests without the token, with a foreign Host or Origin, and outside the app', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const api = (headers: Record<string, string>) => fetch(`${base}/api/getAppInfo`, { method: 'POST', headers });
    expect((await api({})).status).toBe(401);
    expect((await api({ 'x-flowdesk-token': 'wrong' })).status).toBe(401);
    expect((await api({ 'x-flowdesk-token': server.token, origin: 'http://evil.example' })).status).toBe(403);
    const ok = await api({ 'x-flowdesk-token': server.token });
    expect(await ok.json()).toEqual({ ok: true, value: { version: 'test', mode: 'browser', platform: 'linux' } });
    expect((await fetch(`${base}/`)).status).toBe(401);
    expect((await fetch(`${base}/%2e%2e/%2e%2e/package.json`)).status).toBe(401);
    expect((await fetch(`${base}/%2e%2e/%2e%2e/package.json?token=${server.token}`)).status).toBe(404);
    expect((await fetch(`${base}/assets/`)).status).toBe(401);
    expect((await fetch(`${base}/assets/?token=${server.token}`)).status).toBe(404);
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve) => {
      request({ host: '127.0.0.1', port: server.port, path: '/', headers: { host: 'attacker.example:80' } }, (res) => resolve(res.statusCode ?? 0)).end();
    });
    expect(status).toBe(421);
  });
});
