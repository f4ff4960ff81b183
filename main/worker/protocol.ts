// Messages between the worker host (Electron main or the browser-mode server) and the worker
// process: numbered calls and their results, and pushed events.
import type { ApiMethod, AppEvent, Result } from '../../preload/api.ts';

/** The calls the worker answers (the rest of the Api is answered by the host). */
export type WorkerMethod = Exclude<ApiMethod, 'getAppInfo' | 'chooseFolder'> | 'backend';

export type HostMessage =
  | { kind: 'call'; id: number; method: WorkerMethod; arg: unknown }
  /** Pause the run in progress (it writes a checkpoint), then exit. */
  | { kind: 'shutdown' };

export type WorkerMessage =
  | { kind: 'result'; id: number; result: Result<unknown> }
  | { kind: 'event'; event: AppEvent }
  | { kind: 'ready' };
