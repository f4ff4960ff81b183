// Electron main process: one locked-down window (context isolation, sandbox, no Node in the
// page, a strict CSP, no navigation, no new windows, no permissions), the IPC handlers, and the
// compute worker as a utilityProcess so training never blocks the window.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, session, shell, utilityProcess } from 'electron';
import { IpcChannel } from '../preload/channels.ts';
import { createAppBackend } from './app-backend.ts';
import { checkedRunsDir, defaultRunsDir } from './engine/app-paths.ts';
import { HEADER_CSP } from './csp.ts';
import { registerIpcHandlers } from './ipc.ts';
import { WorkerHost, type SpawnWorker } from './worker/host.ts';
import type { WorkerMessage } from './worker/protocol.ts';
import { workerEnv } from './worker/worker-env.ts';

function appUrl(): string {
  return process.env.ELECTRON_RENDERER_URL ?? pathToFileURL(join(__dirname, '../renderer/index.html')).href;
}

function lockDownSession(): void {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [HEADER_CSP] } });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
}

function utilityWorker(runsDir: string): SpawnWorker {
  return () => {
    const child = utilityProcess.fork(join(__dirname, 'worker.js'), [], { env: workerEnv(runsDir), stdio: 'pipe', serviceName: 'FlowDesk compute' });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    return {
      send: (m) => child.postMessage(m),
      onMessage: (l) => child.on('message', (m: WorkerMessage) => l(m)),
      onExit: (l) => child.on('exit', (code) => l(code, stderr.trim().split('\n').at(-1) ?? '')),
      kill: () => void child.kill(),
      pid: child.pid,
    };
  };
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 840,
    minWidth: 900,
    minHeight: 600,
    title: 'FlowDesk',
    show: false,
    webPreferences: {
      preload: join(__dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  const url = appUrl();
  win.webContents.on('will-navigate', (event, target) => {
    if (target !== url) event.preventDefault();
  });
  win.webContents.setWindowOpenHandler(({ url: target }) => {
    // Links to documentation open in the system browser, never inside the app.
    if (target.startsWith('https://')) void shell.openExternal(target);
    return { action: 'deny' };
  });
  win.once('ready-to-show', () => win.show());
  void win.loadURL(url);
  return win;
}

app.whenReady().then(() => {
  lockDownSession();
  // The same runs folder as `flowdesk serve` and the CLI, so runs trained anywhere show here.
  const runsDir = checkedRunsDir(defaultRunsDir());
  mkdirSync(runsDir, { recursive: true });
  const host = new WorkerHost(utilityWorker(runsDir));
  host.onEvent((event) => {
    for (const w of BrowserWindow.getAllWindows()) w.webContents.send(IpcChannel.Event, event);
  });
  const chooseFolder = async () => {
    const r = await dialog.showOpenDialog({ title: 'Choose a folder of images', properties: ['openDirectory'] });
    return r.canceled ? null : (r.filePaths[0] ?? null);
  };
  registerIpcHandlers(appUrl(), createAppBackend({ mode: 'electron', runsDir, host, chooseFolder }));
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
  // Quitting pauses the run in progress first (the worker finishes its step and writes a
  // checkpoint), as `flowdesk serve` does on Ctrl-C; then the app quits for real.
  let workerStopped = false;
  app.on('before-quit', (event) => {
    if (workerStopped) return;
    event.preventDefault();
    void host.shutdown().finally(() => {
      workerStopped = true;
      app.quit();
    });
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
