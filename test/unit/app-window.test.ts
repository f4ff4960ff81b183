// The Electron main process against a stand-in `electron` module, so the lockdown is checked on
// every machine, not only where the Electron binary exists: the window's webPreferences, the CSP
// header on every response, permissions denied, navigation and new windows blocked, and IPC
// calls from any page but the app's own refused.
import { describe, expect, it, vi } from 'vitest';

interface FakeWindow {
  options: { webPreferences: Record<string, unknown> };
  listeners: Map<string, (...args: unknown[]) => void>;
  openHandler?: (details: { url: string }) => { action: string };
  loaded?: string;
}

const fake = vi.hoisted(() => ({
  windows: [] as FakeWindow[],
  headersHook: undefined as undefined | ((details: { responseHeaders: Record<string, string[]> }, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void),
  permissionRequest: undefined as undefined | ((wc: unknown, permission: string, cb: (granted: boolean) => void) => void),
  permissionCheck: undefined as undefined | ((...args: unknown[]) => boolean),
  ipc: undefined as undefined | ((event: { senderFrame?: { url: string } }, method: unknown, arg: unknown) => Promise<unknown>),
  opened: [] as string[],
  ready: undefined as undefined | Promise<void>,
}));

vi.mock('electron', () => {
  class BrowserWindow {
    webContents: Record<string, unknown>;
    constructor(options: FakeWindow['options']) {
      const w: FakeWindow = { options, listeners: new Map() };
      fake.windows.push(w);
      this.webContents = {
        on: (name: string, fn: (...args: unknown[]) => void) => w.listeners.set(name, fn),
        setWindowOpenHandler: (fn: FakeWindow['openHandler']) => (w.openHandler = fn),
        send: () => undefined,
      };
      Object.assign(this, { once: () => undefined, show: () => undefined, loadURL: async (url: string) => (w.loaded = url) });
    }
    static getAllWindows = () => [];
  }
  const child = { postMessage: () => undefined, on: () => undefined, kill: () => true, pid: 1, stderr: { on: () => undefined } };
  fake.ready = Promise.resolve();
  return {
    app: { whenReady: () => fake.ready, on: () => undefined, getPath: () => '/tmp/flowdesk-fake-userdata' },
    BrowserWindow,
    dialog: { showOpenDialog: async () => ({ canceled: true, filePaths: [] }) },
    shell: { openExternal: async (url: string) => void fake.opened.push(url) },
    utilityProcess: { fork: () => child },
    ipcMain: { handle: (_channel: string, fn: typeof fake.ipc) => (fake.ipc = fn) },
    session: {
      defaultSession: {
        webRequest: { onHeadersReceived: (fn: typeof fake.headersHook) => (fake.headersHook = fn) },
        setPermissionRequestHandler: (fn: typeof fake.permissionRequest) => (fake.permissionRequest = fn),
        setPermissionCheckHandler: (fn: typeof fake.permissionCheck) => (fake.permissionCheck = fn),
      },
    },
  };
});

process.env.FLOWDESK_RUNS_DIR = `/tmp/flowdesk-fake-runs-${process.pid}`;
await import('../../main/index.ts');
await fake.ready;
await new Promise((resolve) => setTimeout(resolve, 0));
const win = fake.windows[0];

describe('the Electron window', () => {
  it('isolates the page: context isolation, sandbox, no Node, web security, our preload only', () => {
    expect(fake.windows).toHaveLength(1);
    expect(win.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
    expect(win.options.webPreferences).not.toHaveProperty('nodeIntegrationInWorker', true);
    expect(String(win.options.webPreferences.preload)).toMatch(/preload[\\/]index\.cjs$/);
  });

  it('sends a CSP header without unsafe-eval on every response', () => {
    let headers: Record<string, string[]> = {};
    fake.headersHook!({ responseHeaders: { 'content-type': ['text/html'] } }, (r) => (headers = r.responseHeaders));
    const csp = headers['Content-Security-Policy'][0];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-eval/);
    expect(headers['content-type']).toEqual(['text/html']);
  });

  it('denies every permission request and check', () => {
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      let granted: boolean | undefined;
      fake.permissionRequest!({}, permission, (g) => (granted = g));
      expect(granted, permission).toBe(false);
      expect(fake.permissionCheck!({}, permission)).toBe(false);
    }
  });

  it('blocks navigation away from the app and every new window', () => {
    const navigate = (url: string) => {
      let prevented = false;
      win.listeners.get('will-navigate')!({ preventDefault: () => (prevented = true) }, url);
      return prevented;
    };
    expect(navigate('https://evil.example/')).toBe(true);
    expect(navigate('file:///etc/passwd')).toBe(true);
    expect(navigate(win.loaded!)).toBe(false);
    expect(win.openHandler!({ url: 'https://example.com/docs' })).toEqual({ action: 'deny' });
    expect(win.openHandler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    // Only https links leave the app, and then in the system browser.
    expect(fake.opened).toEqual(['https://example.com/docs']);
  });

  it('answers IPC only from the app page', async () => {
    const refused = (await fake.ipc!({ senderFrame: { url: 'https://evil.example/' } }, 'getAppInfo', null)) as { ok: boolean; error?: { code: string } };
    expect(refused).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await fake.ipc!({}, 'getAppInfo', null)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    // chooseFolder answers in the main process (the stand-in dialog is cancelled), not in the worker.
    expect(await fake.ipc!({ senderFrame: { url: win.loaded! } }, 'chooseFolder', null)).toEqual({ ok: true, value: null });
    expect(await fake.ipc!({ senderFrame: { url: win.loaded! } }, 'deleteEverything', null)).toMatchObject({ ok: false });
  });
});
