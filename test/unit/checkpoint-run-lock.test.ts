// The run lock: a live holder (in this process or another) is refused with RUN_LOCKED naming
// it, a dead one's lock is taken over, and racing takers, in one process or several, get one lock.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireRunLock, runLockHolder } from '../../main/engine/checkpoint/run-lock.ts';

let run: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  run = await mkdtemp(join(tmpdir(), 'flowdesk-lock-'));
});
afterEach(async () => {
  for (const c of children.splice(0)) c.kill();
  await rm(run, { recursive: true, force: true });
});

const lockPath = () => join(run, '.lock');
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

function sleeper(): number {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  children.push(child);
  return child.pid!;
}

async function writeLock(pid: number, host = hostname(), since = '2026-01-01T00:00:00.000Z'): Promise<void> {
  await writeFile(lockPath(), JSON.stringify({ pid, host, since }));
}

describe('run lock', () => {
  it('holds pid, host and start time; refuses a second taker in this process until released', async () => {
    const lock = await acquireRunLock(run);
    const info = JSON.parse(await readFile(lockPath(), 'utf8'));
    expect(info).toEqual({ pid: process.pid, host: hostname(), since: expect.any(String), token: expect.any(String) });
    expect(Number.isNaN(Date.parse(info.since))).toBe(false);
    expect(await runLockHolder(run)).toEqual(info);
    await expect(acquireRunLock(run)).rejects.toMatchObject({ code: 'RUN_LOCKED', message: expect.stringContaining('already in use by this process') });
    await lock.release();
    expect(await runLockHolder(run)).toBeNull();
    await (await acquireRunLock(run)).release();
  });

  it('refuses while another live process holds it, naming the process and since when', async () => {
    const pid = sleeper();
    await writeLock(pid);
    await expect(acquireRunLock(run)).rejects.toMatchObject({
      code: 'RUN_LOCKED',
      message: `run ${run} is in use by process ${pid} since 2026-01-01T00:00:00.000Z; stop it first.`,
    });
    expect(JSON.parse(await readFile(lockPath(), 'utf8')).pid).toBe(pid);
  });

  it('refuses a lock held on another machine (a shared folder), saying how to clear it', async () => {
    await writeLock(deadPid(), 'other-host.example');
    await expect(acquireRunLock(run)).rejects.toMatchObject({ code: 'RUN_LOCKED', message: expect.stringMatching(/on other-host\.example .*delete .*\.lock/) });
  });

  it('takes over the lock of a process that died, and of an earlier process with our pid', async () => {
    await writeLock(deadPid());
    expect(await runLockHolder(run)).toBeNull();
    const lock = await acquireRunLock(run);
    expect(JSON.parse(await readFile(lockPath(), 'utf8')).pid).toBe(process.pid);
    await lock.release();
    // A restarted container gives the new process the old one's pid: the lock is still stale.
    await writeLock(process.pid, hostname(), '2020-01-01T00:00:00.000Z');
    expect(await runLockHolder(run)).toBeNull();
    const again = await acquireRunLock(run);
    expect(JSON.parse(await readFile(lockPath(), 'utf8')).since).not.toBe('2020-01-01T00:00:00.000Z');
    await again.release();
  });

  it('treats an unreadable lock as being written while it is fresh, and as stale once old', async () => {
    await writeFile(lockPath(), '{"pid": 12');
    await expect(acquireRunLock(run)).rejects.toMatchObject({ code: 'RUN_LOCKED' });
    const old = new Date(Date.now() - 60_000);
    await utimes(lockPath(), old, old);
    await (await acquireRunLock(run)).release();
  });

  it('release leaves alone a lock that is no longer ours', async () => {
    const lock = await acquireRunLock(run);
    const pid = sleeper();
    await writeLock(pid);
    await lock.release();
    expect(JSON.parse(await readFile(lockPath(), 'utf8')).pid).toBe(pid);
  });

  it('gives a stale lock to exactly one of many concurrent takers in this process', async () => {
    await writeLock(deadPid());
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => acquireRunLock(run)));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason.code).toBe('RUN_LOCKED');
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
  });

  it('gives a stale lock to exactly one of several processes racing for it', async () => {
    await writeLock(deadPid());
    const moduleUrl = new URL('../../main/engine/checkpoint/run-lock.ts', import.meta.url).href;
    const script = join(run, 'take-lock.mjs');
    // Each child waits for a common start time, tries once, reports, and keeps what it got.
    await writeFile(
      script,
      `const { acquireRunLock } = await import(${JSON.stringify(moduleUrl)});
       const start = Number(process.argv[2]);
       while (Date.now() < start) await new Promise((r) => setTimeout(r, 5));
       try { await acquireRunLock(process.argv[3]); console.log('got'); } catch (e) { console.log(e.code); }
       setInterval(() => {}, 1000);`,
    );
    const start = Date.now() + 4000;
    const outputs = await Promise.all(
      Array.from({ length: 4 }, () => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, String(start), run], { cwd: resolve('.') });
        children.push(child);
        return new Promise<string>((done) => {
          let out = '';
          child.stdout.on('data', (d) => {
            out += d;
            if (out.includes('\n')) done(out.trim());
          });
          child.on('exit', () => done(out.trim() || 'exited'));
        });
      }),
    );
    expect(outputs.sort()).toEqual(['RUN_LOCKED', 'RUN_LOCKED', 'RUN_LOCKED', 'got']);
  });
});
