// The one place IPC handlers are registered: every call is checked to come from our own
// renderer, then validated and answered with a Result by the app backend.
import { ipcMain } from 'electron';
import type { Result } from '../preload/api.ts';
import { IpcChannel } from '../preload/channels.ts';
import { isTrustedSender } from './ipc-guard.ts';

export function registerIpcHandlers(appUrl: string, call: (method: string, arg: unknown) => Promise<Result<unknown>>): void {
  ipcMain.handle(IpcChannel.Call, async (event, method: unknown, arg: unknown): Promise<Result<unknown>> => {
    if (!isTrustedSender(event.senderFrame?.url, appUrl)) {
      return { ok: false, error: { code: 'FORBIDDEN', message: 'An API call from a page that is not FlowDesk was refused.' } };
    }
    return call(String(method), arg);
  });
}
