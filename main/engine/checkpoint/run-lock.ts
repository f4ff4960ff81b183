// One writer per run folder: a `.lock` file created exclusively, holding the owner's pid and
// host. A lock whose process is gone (a crash, a kill) is taken over; a live one is refused.
import { hostname } from 'node:os';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError } from '../errors.ts';

interface LockInfo {
  pid: number;
  host: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryCreate(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx');
    const info: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    await handle.writeFile(JSON.stringify(info));
    await handle.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

export async function acquireRunLock(runDir: string): Promise<{ release(): Promise<void> }> {
  const path = join(runDir, '.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await tryCreate(path)) {
      return { release: () => rm(path, { force: true }) };
    }
    let info: LockInfo | null = null;
    try {
      info = JSON.parse(await readFile(path, 'utf8')) as LockInfo;
    } catch {
      // Unreadable or half-written lock (its writer died while creating it): stale.
    }
    if (info && info.host === hostname() && info.pid !== process.pid && alive(info.pid)) {
      throw new CheckpointError('RUN_LOCKED', `Run ${runDir} is in use by process ${info.pid} since ${info.since}; stop that training first.`);
    }
    if (info && info.host !== hostname()) {
      throw new CheckpointError('RUN_LOCKED', `Run ${runDir} is locked by ${info.host} (process ${info.pid}) since ${info.since}; if that machine is not training it, delete ${path}.`);
    }
    if (info && info.pid === process.pid) {
      throw new CheckpointError('RUN_LOCKED', `Run ${runDir} is already being trained by this process.`);
    }
    await rm(path, { force: true });
  }
  throw new CheckpointError('RUN_LOCKED', `Could not lock ${runDir}: another process keeps taking it.`);
}
