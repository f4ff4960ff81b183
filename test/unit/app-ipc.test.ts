// IPC's pure guard: only the app's own page may call, and handler outcomes become Results.
import { describe, expect, it } from 'vitest';
import { asResult, isTrustedSender } from '../../main/ipc-guard.ts';
import { DataError } from '../../main/engine/errors.ts';

describe('IPC guard', () => {
  it('trusts only the app page', () => {
    expect(isTrustedSender('file:///app/out/renderer/index.html', 'file:///app/out/renderer/index.html')).toBe(true);
    expect(isTrustedSender('file:///etc/evil.html', 'file:///app/out/renderer/index.html')).toBe(false);
    expect(isTrustedSender('http://localhost:5173/', 'http://localhost:5173/')).toBe(true);
    expect(isTrustedSender('http://localhost:5174/', 'http://localhost:5173/')).toBe(false);
    expect(isTrustedSender('https://example.com/', 'file:///app/out/renderer/index.html')).toBe(false);
    expect(isTrustedSender(undefined, 'file:///x')).toBe(false);
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
});
