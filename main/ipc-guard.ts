// The pure part of IPC handling, testable without Electron: whether a sender is our own page,
// and turning a handler's outcome (value or thrown error) into a Result.
import type { Result } from '../preload/api.ts';
import { toAppError } from './engine/errors.ts';

/** True when `url` is the app's own renderer: the dev server's origin or the packaged file. */
export function isTrustedSender(url: string | undefined, appUrl: string): boolean {
  if (!url) return false;
  try {
    const sender = new URL(url);
    const app = new URL(appUrl);
    if (app.protocol === 'file:') return sender.protocol === 'file:' && sender.pathname === app.pathname;
    return sender.origin === app.origin;
  } catch {
    return false;
  }
}

/** Runs a handler and never lets an exception cross IPC: only its message would survive. */
export async function asResult<T>(run: () => Promise<T> | T): Promise<Result<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (err) {
    return { ok: false, error: toAppError(err) };
  }
}
