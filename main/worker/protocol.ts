// Messages between the worker host (Electron main or the browser-mode server) and the worker
// process: numbered calls and their results, and pushed events; and which side answers which call.
import type { ApiMethod, ApiSlice, AppEvent, Result } from '../../preload/api.ts';

/** The Api calls the host answers itself (main/app-backend.ts): they need Electron or the host's state. */
export type HostMethod = 'getAppInfo' | 'chooseFolder' | 'requestFolderAccess';

/** Calls the worker answers that are not in the Api: the host asks them for its own answers. */
export interface WorkerOnlyCalls {
  /** The compute backend in use and why others were skipped (for getAppInfo). */
  backend(): Promise<string>;
}

/** The calls the worker answers: the rest of the Api, plus its own. */
export type WorkerMethod = Exclude<ApiMethod, HostMethod> | keyof WorkerOnlyCalls;

/** The calls `K` as a worker service implements them: plain values in and out, failures thrown. */
export type WorkerSlice<K extends WorkerMethod> = ApiSlice<Extract<K, ApiMethod>> & Pick<WorkerOnlyCalls, Extract<K, keyof WorkerOnlyCalls>>;

export type HostMessage =
  | { kind: 'call'; id: number; method: WorkerMethod; arg: unknown }
  /** Pause the run in progress (it writes a checkpoint), then exit. */
  | { kind: 'shutdown' }
  /** A person allowed this folder (a real path): files beneath it may be read from now on. */
  | { kind: 'allow-folder'; folder: string };

export type WorkerMessage =
  | { kind: 'result'; id: number; result: Result<unknown> }
  | { kind: 'event'; event: AppEvent }
  | { kind: 'ready' };
