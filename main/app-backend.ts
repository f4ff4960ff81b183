// The Api as both transports serve it: validation first, then the host's own slice (app info,
// the folder dialog) or the worker's. Electron's IPC and browser mode's HTTP call this.
import type { ApiSlice, AppInfo, Result } from '../preload/api.ts';
import { validateRequest } from './api-validation.ts';
import { FLOWDESK_VERSION } from './engine/version.ts';
import { asResult } from './ipc-guard.ts';
import type { WorkerHost } from './worker/host.ts';
import type { HostMethod, WorkerMethod } from './worker/protocol.ts';

export interface AppBackendOptions {
  mode: AppInfo['mode'];
  runsDir: string;
  host: WorkerHost;
  /** Electron's folder dialog; absent in browser mode. */
  chooseFolder?: () => Promise<string | null>;
}

export function createAppBackend(opts: AppBackendOptions) {
  let backendLine: string | null = null;
  const hostCalls: ApiSlice<HostMethod> = {
    async getAppInfo() {
      if (backendLine === null) {
        const r = await opts.host.call<string>('backend');
        if (r.ok) backendLine = r.value;
      }
      return { version: FLOWDESK_VERSION, mode: opts.mode, platform: process.platform, runsDir: opts.runsDir, backend: backendLine };
    },
    async chooseFolder() {
      return opts.chooseFolder ? opts.chooseFolder() : null;
    },
  };
  return async function call(method: string, arg: unknown): Promise<Result<unknown>> {
    const checked = await asResult(() => validateRequest(method, arg));
    if (!checked.ok) return checked;
    // validateRequest knows only the Api's calls, so a name that passed it is one of them.
    if (Object.hasOwn(hostCalls, method)) return asResult<unknown>(() => hostCalls[method as HostMethod]());
    return opts.host.call(method as WorkerMethod, checked.value);
  };
}
