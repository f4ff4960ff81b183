// The pure part of IPC handling, testable without Electron: whether a sender is our own page,
// and turning every outcome of a call (value, refusal or thrown error) into a Result.
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

export type ApiCall = (method: string, arg: unknown) => Promise<Result<unknown>>;

/**
 * The handler behind the IPC call channel: refuses senders other than `appUrl`'s page and
 * answers with a Result even when `call` throws.
 */
export function guardedCall(appUrl: string, call: ApiCall) {
  return async (senderUrl: string | undefined, method: unknown, arg: unknown): Promise<Result<unknown>> => {
    if (!isTrustedSender(senderUrl, appUrl)) {
      return { ok: false, error: { code: 'FORBIDDEN', message: `An API call from ${senderUrl ?? 'an unknown page'} was refused: only FlowDesk's own page may call.` } };
    }
    const r = await asResult(() => call(String(method), arg));
    return r.ok ? r.value : r;
  };
}
