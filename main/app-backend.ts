// The Api as both transports serve it: validation first, then the host's own answers
// (app info, folder dialog) or the worker's. Electron's IPC and browser mode's HTTP call this.
import type { ApiMethod, AppInfo, Result } from '../preload/api.ts';
import { validateRequest } from './api-validation.ts';
import { toAppError } from './engine/errors.ts';
import { FLOWDESK_VERSION } from './engine/version.ts';
import type { WorkerHost } from './worker/host.ts';

export interface AppBackendOptions {
  mode: AppInfo['mode'];
  runsDir: string;
  host: WorkerHost;
  /** Electron's folder dialog; absent in browser mode. */
  chooseFolder?: () => Promise<string | null>;
}

export function createAppBackend(opts: AppBackendOptions) {
  let backendLine: string | null = null;
  return async function call(method: string, arg: unknown): Promise<Result<unknown>> {
    let checked: unknown;
    try {
      checked = validateRequest(method, arg);
    } catch (err) {
      return { ok: false, error: toAppError(err) };
    }
    switch (method as ApiMethod) {
      case 'getAppInfo': {
        if (backendLine === null) {
          const r = await opts.host.call<string>('backend');
          if (r.ok) backendLine = r.value;
        }
        const info: AppInfo = { version: FLOWDESK_VERSION, mode: opts.mode, platform: process.platform, runsDir: opts.runsDir, backend: backendLine };
        return { ok: true, value: info };
      }
      case 'chooseFolder':
        return { ok: true, value: opts.chooseFolder ? await opts.chooseFolder() : null };
      default:
        return opts.host.call(method as Exclude<ApiMethod, 'getAppInfo' | 'chooseFolder'>, checked);
    }
  };
}
