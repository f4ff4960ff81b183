// The one contract between the renderer and the rest of FlowDesk. Both transports (Electron IPC
// and browser mode's HTTP) implement it; the renderer imports only these types.

export interface AppError {
  /** Stable code a program can test, e.g. NO_FOLDER, BAD_ARGUMENT. */
  code: string;
  /** What went wrong and what to do, for a person. */
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: AppError };

export interface AppInfo {
  version: string;
  mode: 'electron' | 'browser';
  platform: string;
}

export interface Api {
  getAppInfo(): Promise<Result<AppInfo>>;
}
