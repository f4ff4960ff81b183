// The preload: exposes exactly the typed Api to the sandboxed renderer over IPC, nothing more.
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { Api, AppEvent } from './api.ts';
import { API_METHODS, IpcChannel } from './channels.ts';

const calls = Object.fromEntries(API_METHODS.map((m) => [m, (arg?: unknown) => ipcRenderer.invoke(IpcChannel.Call, m, arg ?? null)]));

const api = {
  ...calls,
  onEvent(listener: (e: AppEvent) => void) {
    const wrapped = (_e: IpcRendererEvent, event: AppEvent) => listener(event);
    ipcRenderer.on(IpcChannel.Event, wrapped);
    return () => ipcRenderer.off(IpcChannel.Event, wrapped);
  },
  pathOfDroppedFile: (file: File) => webUtils.getPathForFile(file) || null,
} as unknown as Api;

contextBridge.exposeInMainWorld('flowdesk', api);
