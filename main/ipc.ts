// The one place IPC handlers are registered: every call on the channel goes through the guard
// (our own page only, always a Result), then to the app backend, which validates and answers.
import { ipcMain } from 'electron';
import { IpcChannel } from '../preload/channels.ts';
import { guardedCall, type ApiCall } from './ipc-guard.ts';

export function registerIpcHandlers(appUrl: string, call: ApiCall): void {
  const handle = guardedCall(appUrl, call);
  ipcMain.handle(IpcChannel.Call, (event, method: unknown, arg: unknown) => handle(event.senderFrame?.url, method, arg));
}
