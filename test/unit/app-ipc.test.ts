// IPC's pure guard: only the app's own page may call, and every outcome of a call (value,
// refusal, thrown error) comes back as a Result.
import { describe, expect, it } from 'vitest';
import { asResult, guardedCall, isTrustedSender } from '../../main/ipc-guard.ts';
import { DataError } from '../../main/engine/errors.ts';
import type { Result } from '../../preload/api.ts';

const APP = 'file:///app/out/renderer/index.html';

describe('IPC guard', () => {
  it('trusts only the app page', () => {
    expect(isTrustedSender(APP, APP)).toBe(true);
    expect(isTrustedSender(`${APP}#/runs`, APP)).toBe(true);
    expect(isTrustedSender('file:///etc/evil.html', APP)).toBe(false);
    expect(isTrustedSender('http://localhost:5173/', 'http://localhost:5173/')).toBe(true);
    expect(isTrustedSender('http://localhost:5173/deep/page', 'http://localhost:5173')).toBe(true);
    expect(isTrustedSender('http://localhost:5174/', 'http://localhost:5173/')).toBe(false);
    expect(isTrustedSender('http://localhost.evil.example:5173/', 'http://localhost:5173/')).toBe(false);
    expect(isTrustedSender('https://example.com/', APP)).toBe(false);
    expect(isTrustedSender(undefined, 'file:///x')).toBe(false);
    expect(isTrustedSender('', 'file:///x')).toBe(false);
    expect(isTrustedSender('not a url', 'file:///x')).toBe(false);
  });

  it('wraps values and errors, never throwing', async () => {
    expect(await asResult(() => 3)).toEqual({ ok: true, value: 3 });
    expect(await asResult(() => {
      throw new DataError('NO_FOLDER', 'Folder /x does not exist.');
    })).toEqual({ ok: false, error: { code: 'NO_FOLDER', message: 'Folder /x does not exist.' } });
    expect(await asResult(async () => {
      throw new Error('boom');
    })).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'boom' } });
  });

  it('passes trusted calls through and refuses others without calling the backend', async () => {
    const seen: [string, unknown][] = [];
    const handle = guardedCall(APP, async (method, arg): Promise<Result<unknown>> => {
      seen.push([method, arg]);
      return method === 'getAppInfo' ? { ok: true, value: { version: '1.2.3' } } : { ok: false, error: { code: 'BAD_ARGUMENT', message: 'no' } };
    });
    expect(await handle(APP, 'getAppInfo', null)).toEqual({ ok: true, value: { version: '1.2.3' } });
    expect(await handle(APP, 'listRuns', { x: 1 })).toEqual({ ok: false, error: { code: 'BAD_ARGUMENT', message: 'no' } });
    const refused = await handle('https://evil.example/', 'getAppInfo', null);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error.code).toBe('FORBIDDEN');
    expect((await handle(undefined, 'getAppInfo', null)).ok).toBe(false);
    expect(seen).toEqual([['getAppInfo', null], ['listRuns', { x: 1 }]]);
  });

  it('turns a backend that throws into an error Result', async () => {
    const handle = guardedCall(APP, async () => {
      throw new DataError('NO_IMAGES', 'No usable images in /x.');
    });
    expect(await handle(APP, 'importFolder', {})).toEqual({ ok: false, error: { code: 'NO_IMAGES', message: 'No usable images in /x.' } });
  });
});
