// One writer per run folder: a `.lock` file created exclusively (O_EXCL), holding the owner's
// pid, host and start time. A lock whose process is gone (a crash, a kill) is taken over.
import { randomBytes } from 'node:crypto';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { CheckpointError } from '../errors.ts';
import { ioCause } from './io-cause.ts';
import { lockPath } from '../runs/run-layout.ts';

export interface LockInfo {
  pid: number;
  host: string;
  /** ISO 8601 time the lock was taken. */
  since: string;
  /** Random, so that two locks taken by one process in the same millisecond differ. */
  token?: string;
}

export interface RunLock {
  /** Removes the lock file, unless another process has since taken the lock over. */
  release(): Promise<void>;
}

/** An unreadable lock younger than this may be one another process is still writing. */
const HALF_WRITTEN_GRACE_MS = 5000;
/** A `.lock.break` older than this was left by a taker that died while breaking a stale lock. */
const STALE_BREAKER_MS = 10_000;
const ATTEMPTS = 50;
/** `<lock path>\n<lock text>` of every lock this process holds or is creating: a lock with our
 * pid that is not among them was left by an earlier process with the same pid (containers
 * restart as pid 1), so it is stale. */
const heldHere = new Set<string>();

/** Whether a process with this pid runs on this machine (one we may not signal still runs). */
export function isProcessAlive(pid: number): boolean {
  // pid 0 and negative pids name process groups, which kill(…, 0) would report as alive.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

function parseLock(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo> | null;
    if (v && Number.isSafeInteger(v.pid) && (v.pid as number) > 0 && typeof v.host === 'string' && typeof v.since === 'string') return v as LockInfo;
  } catch {
    // Falls through: not a lock this code wrote.
  }
  return null;
}

async function readLockText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Whether the lock at `path` with `text` (parsed as `info`) belongs to a process that may still use the run. */
function isLive(path: string, info: LockInfo, text: string): boolean {
  if (info.host !== hostname()) return true;
  return info.pid === process.pid ? heldHere.has(`${path}\n${text}`) : isProcessAlive(info.pid);
}

/** The holder of the run's lock when that process still runs (this one included), else null. */
export async function runLockHolder(runDir: string): Promise<LockInfo | null> {
  const path = lockPath(resolve(runDir));
  const text = await readLockText(path).catch(() => null);
  if (text === null) return null;
  const info = parseLock(text);
  return info && isLive(path, info, text) ? info : null;
}

async function tryCreate(path: string, info: LockInfo): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(JSON.stringify(info));
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(path, { force: true });
    throw err;
  }
  await handle.close();
  return true;
}

/**
 * Removes the lock judged stale from its text `seen`. Only the holder of `.lock.break` (created
 * exclusively) may do so, and it re-reads the lock first: a lock that still reads `seen` cannot
 * have been replaced meanwhile (creating needs it gone, removing needs the breaker), so two
 * takers never remove each other's fresh lock. Returns early, for the caller to retry, when
 * another taker holds the breaker.
 */
async function removeStale(path: string, seen: string): Promise<void> {
  const breaker = `${path}.break`;
  try {
    await (await open(breaker, 'wx')).close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const since = (await stat(breaker).catch(() => null))?.mtimeMs;
    // A breaker this old was left by a taker that died mid-break; breaking takes milliseconds.
    if (since !== undefined && Date.now() - since > STALE_BREAKER_MS) await rm(breaker, { force: true });
    else await pause(20);
    return;
  }
  try {
    if ((await readLockText(path)) === seen) await rm(path, { force: true });
  } finally {
    await rm(breaker, { force: true });
  }
}

function lockedMessage(runDir: string, path: string, info: LockInfo): string {
  if (info.host !== hostname()) {
    return `run ${runDir} is in use by process ${info.pid} on ${info.host} since ${info.since}; stop it first (if that machine is not training it, delete ${path}).`;
  }
  if (info.pid === process.pid) return `run ${runDir} is already in use by this process since ${info.since}; stop that training first.`;
  return `run ${runDir} is in use by process ${info.pid} since ${info.since}; stop it first.`;
}

export async function acquireRunLock(runDir: string): Promise<RunLock> {
  const path = lockPath(resolve(runDir));
  const mine: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString(), token: randomBytes(6).toString('hex') };
  const mineText = JSON.stringify(mine);
  const key = `${path}\n${mineText}`;
  // Marked before the file exists, so a concurrent call in this process never takes it for stale.
  heldHere.add(key);
  let acquired = false;
  try {
    for (let attempt = 0; attempt < ATTEMPTS && !acquired; attempt++) {
      acquired = await tryCreate(path, mine);
      if (acquired) break;
      const text = await readLockText(path);
      if (text === null) continue; // released between our attempt and the read
      const info = parseLock(text);
      if (info && isLive(path, info, text)) throw new CheckpointError('RUN_LOCKED', lockedMessage(runDir, path, info));
      if (!info) {
        const age = Date.now() - ((await stat(path).catch(() => null))?.mtimeMs ?? 0);
        if (age < HALF_WRITTEN_GRACE_MS) {
          await pause(50);
          continue;
        }
      }
      await removeStale(path, text);
    }
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError('IO_ERROR', `Cannot lock run ${runDir} (${path}): ${ioCause(err)}.`);
  } finally {
    if (!acquired) heldHere.delete(key);
  }
  if (!acquired) throw new CheckpointError('RUN_LOCKED', `run ${runDir} could not be locked: another process keeps taking ${path}; try again.`);
  return {
    release: async () => {
      heldHere.delete(key);
      if ((await readLockText(path)) === mineText) await rm(path, { force: true });
    },
  };
}
