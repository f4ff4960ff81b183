// The preload: exposes exactly the typed Api to the sandboxed renderer over IPC, nothing more.
import { contextBridge, ipcRenderer } from 'electron';
import type { Api } from './api.ts';
import { IpcChannel } from './channels.ts';

const api: Api = {
  getAppInfo: () => ipcRenderer.invoke(IpcChannel.GetAppInfo),
};

contextBridge.exposeInMainWorld('flowdesk', api);
