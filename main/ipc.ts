// The one place IPC handlers are registered: each checks that the call comes from our own
// renderer and answers with a Result.
import { app, ipcMain, type IpcMainInvokeEvent } from 'electron';
import type { AppInfo, Result } from '../preload/api.ts';
import { IpcChannel } from '../preload/channels.ts';
import { asResult, isTrustedSender } from './ipc-guard.ts';

type Handler = (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<unknown> | unknown;

export function registerIpcHandlers(appUrl: string): void {
  const handle = (channel: IpcChannel, handler: Handler) => {
    ipcMain.handle(channel, async (event, ...args): Promise<Result<unknown>> => {
      if (!isTrustedSender(event.senderFrame?.url, appUrl)) {
        return { ok: false, error: { code: 'FORBIDDEN', message: `IPC call ${channel} from an untrusted page was refused.` } };
      }
      return asResult(() => handler(event, ...args));
    });
  };
  handle(IpcChannel.GetAppInfo, (): AppInfo => ({ version: app.getVersion(), mode: 'electron', platform: process.platform }));
}
