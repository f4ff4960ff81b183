// Allowing a folder outside the roots while the app runs: only a yes typed at the terminal that
// runs `flowdesk serve` (remembered for the runs folder) or a pick in Electron's folder dialog
// widens what the page may read; a no, no terminal, or the desktop app's Api call leave it as it was.
import { mkdtemp, rm } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppBackend } from '../../main/app-backend.ts';
import { validateRequest } from '../../main/api-validation.ts';
import { rememberedFolders, terminalConfirm, type Terminal } from '../../main/folder-access.ts';
import type { WorkerHost } from '../../main/worker/host.ts';
import { fakeTerminal } from '../helpers/fake-terminal.ts';

/** A folder that exists and lies outside every allowed root (home, temp, working folder, resources). */
const OUTSIDE = realpathSync('/etc');

let runsDir: string;
const allowedInWorker: string[] = [];
const host = { allowFolder: (f: string) => allowedInWorker.push(f), call: async () => ({ ok: true, value: null }) } as unknown as WorkerHost;
const importOutside = () => validateRequest('importFolder', { folder: OUTSIDE, size: 8, channels: 1 });

beforeAll(async () => {
  runsDir = await mkdtemp(join(tmpdir(), 'flowdesk-access-'));
});
afterAll(async () => {
  await rm(runsDir, { recursive: true, force: true });
});

describe('the terminal question', () => {
  it('asks with the folder named and takes only y or yes', async () => {
    const yes = fakeTerminal('y');
    expect(await terminalConfirm(yes)('/x/y')).toBe(true);
    expect(yes.printed()).toContain('Allow FlowDesk to read /x/y? [y/N]');
    expect(await terminalConfirm(fakeTerminal('YES'))('/x/y')).toBe(true);
    expect(await terminalConfirm(fakeTerminal('n'))('/x/y')).toBe(false);
    expect(await terminalConfirm(fakeTerminal(''))('/x/y')).toBe(false);
  });

  it('is refused with a sentence when no terminal is attached', async () => {
    await expect(terminalConfirm(fakeTerminal('y', false))('/x/y')).rejects.toMatchObject({ code: 'NO_TERMINAL', message: expect.stringMatching(/without a terminal.*FLOWDESK_ROOTS=\/x\/y/) });
  });

  it('a question nobody answers is a no', async () => {
    const silent: Terminal = { input: Object.assign(new PassThrough(), { isTTY: true }), output: new PassThrough() };
    expect(await terminalConfirm(silent, 50)('/x/y')).toBe(false);
  });
});

describe('requestFolderAccess in browser mode', () => {
  const call = (answer: string, isTTY = true) => createAppBackend({ mode: 'browser', runsDir, host, confirmFolder: terminalConfirm(fakeTerminal(answer, isTTY)) });

  it('a no or no terminal leaves the folder outside', async () => {
    expect(await call('n')('requestFolderAccess', { folder: OUTSIDE })).toEqual({ ok: true, value: { allowed: false } });
    expect(await call('y', false)('requestFolderAccess', { folder: OUTSIDE })).toMatchObject({ ok: false, error: { code: 'NO_TERMINAL' } });
    expect(importOutside).toThrow(/outside the folders FlowDesk may read/);
    expect(allowedInWorker).toEqual([]);
    expect(await rememberedFolders(runsDir)).toEqual([]);
  });

  it('a yes allows it here and in the worker, and remembers it for the runs folder', async () => {
    expect(await call('y')('requestFolderAccess', { folder: OUTSIDE })).toEqual({ ok: true, value: { allowed: true } });
    expect(importOutside()).toMatchObject({ folder: OUTSIDE });
    expect(allowedInWorker).toEqual([OUTSIDE]);
    expect(await rememberedFolders(runsDir)).toEqual([OUTSIDE]);
  });

  it('refuses a folder that does not exist without asking', async () => {
    expect(await call('y')('requestFolderAccess', { folder: join(runsDir, 'missing') })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT', message: expect.stringMatching(/missing does not exist/) } });
  });
});

describe('requestFolderAccess in the desktop app', () => {
  it('points to the folder dialog instead', async () => {
    const call = createAppBackend({ mode: 'electron', runsDir, host });
    expect(await call('requestFolderAccess', { folder: '/usr' })).toMatchObject({ ok: false, error: { message: expect.stringMatching(/Choose….*folder dialog/) } });
  });

  it('allows for the session a folder picked in the folder dialog', async () => {
    const picked = realpathSync('/usr');
    const call = createAppBackend({ mode: 'electron', runsDir, host, chooseFolder: async () => picked });
    expect(() => validateRequest('importFolder', { folder: picked, size: 8, channels: 1 })).toThrow(/outside the folders/);
    expect(await call('chooseFolder', null)).toEqual({ ok: true, value: picked });
    expect(validateRequest('importFolder', { folder: picked, size: 8, channels: 1 })).toMatchObject({ folder: picked });
    expect(allowedInWorker).toContain(picked);
  });
});
