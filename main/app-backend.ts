// The Api as both transports serve it: validation first, then the host's own slice (app info,
// the folder dialog, asking the person to allow a folder) or the worker's. Electron's IPC and
// browser mode's HTTP call this.
import type { ApiSlice, AppInfo, Result } from '../preload/api.ts';
import { realpathSync } from 'node:fs';
import { allowedRoots, allowFolder } from './allowed-roots.ts';
import { validateRequest } from './api-validation.ts';
import { FlowDeskError } from './engine/errors.ts';
import { isInsideRoots } from './engine/fs/real-paths.ts';
import { rememberFolder } from './folder-access.ts';
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
  /** Browser mode's question to the person at the server's terminal (folder-access.ts); absent in Electron. */
  confirmFolder?: (folder: string) => Promise<boolean>;
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
      const chosen = opts.chooseFolder ? await opts.chooseFolder() : null;
      // The dialog is the person's confirmation: what they picked there may be read this session.
      if (chosen !== null) allow(realpathSync(chosen));
      return chosen;
    },
    async requestFolderAccess({ folder }) {
      if (isInsideRoots(folder, allowedRoots())) return { allowed: true };
      if (!opts.confirmFolder) throw new FlowDeskError('BAD_ARGUMENT', `Choose ${folder} with "Choose…": the folder dialog is how the desktop app allows a folder.`);
      const allowed = await opts.confirmFolder(folder);
      if (allowed) {
        allow(folder);
        await rememberFolder(opts.runsDir, folder);
      }
      return { allowed };
    },
  };
  /** Allows a real path here, in the validation, and in the running worker. */
  function allow(real: string): void {
    allowFolder(real);
    opts.host.allowFolder(real);
  }
  return async function call(method: string, arg: unknown): Promise<Result<unknown>> {
    const checked = await asResult(() => validateRequest(method, arg));
    if (!checked.ok) return checked;
    // validateRequest knows only the Api's calls, so a name that passed it is one of them.
    if (Object.hasOwn(hostCalls, method)) return asResult<unknown>(() => hostCalls[method as HostMethod](checked.value as never));
    return opts.host.call(method as WorkerMethod, checked.value);
  };
}
