// Deleting a run moves it to the trash (.trash/ in the runs folder), where it waits 30 days and
// can be restored under its id. A run someone trains (its lock is live) is never moved: the
// lock is taken for the move, so no trainer can start on the folder meanwhile.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ioCause } from '../checkpoint/io-cause.ts';
import { acquireRunLock } from '../checkpoint/run-lock.ts';
import { CheckpointError, FlowDeskError } from '../errors.ts';
import { readRunInfo } from './run-info.ts';
import { isRunId, RUN_ID_RULE } from './run-id.ts';
import { lockPath, trashDir } from './run-layout.ts';
import { runDirOf } from './run-locate.ts';

/** How long a deleted run stays restorable. */
export const TRASH_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface TrashEntry {
  id: string;
  /** The display name it had (info.json), if any. */
  name?: string;
  deletedAt: string;
  /** When it is removed for good (at the first start after this time). */
  expires: string;
}

/** An entry is `<deletion time in ms>-<run id>`, so the same id deleted twice keeps both. */
const ENTRY = /^(\d+)-(.+)$/;
const entryName = (id: string, at: number) => `${at}-${id}`;

async function entries(runsDir: string): Promise<{ dir: string; id: string; at: number }[]> {
  const names = await readdir(trashDir(runsDir)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw new CheckpointError('IO_ERROR', `Cannot list the trash ${trashDir(runsDir)}: ${ioCause(err)}.`);
  });
  return names.flatMap((name) => {
    const m = ENTRY.exec(name);
    return m && isRunId(m[2]) ? [{ dir: join(trashDir(runsDir), name), id: m[2], at: Number(m[1]) }] : [];
  });
}

/** Moves run `runId` into the trash; RUN_LOCKED, in a sentence, while it trains. */
export async function trashRun(runsDir: string, runId: string, now = Date.now()): Promise<TrashEntry> {
  const dir = runDirOf(runsDir, runId);
  const lock = await acquireRunLock(dir).catch((err: unknown) => {
    if (err instanceof FlowDeskError && err.code === 'RUN_LOCKED') {
      throw new CheckpointError('RUN_LOCKED', `Run ${runId} is training now, so it cannot be deleted; pause or cancel it first (${err.message}).`);
    }
    throw err;
  });
  const target = join(trashDir(runsDir), entryName(runId, now));
  try {
    await mkdir(trashDir(runsDir), { recursive: true });
    await rename(dir, target);
    // The lock moved with the folder; it guarded the move only.
    await rm(lockPath(target), { force: true });
  } catch (err) {
    throw new CheckpointError('IO_ERROR', `Cannot move run ${runId} to the trash ${trashDir(runsDir)}: ${ioCause(err)}.`);
  } finally {
    await lock.release();
  }
  const { name } = await readRunInfo(target).catch(() => ({ name: undefined }));
  return describe(runId, now, name);
}

function describe(id: string, at: number, name?: string): TrashEntry {
  return { id, ...(name ? { name } : {}), deletedAt: new Date(at).toISOString(), expires: new Date(at + TRASH_DAYS * DAY_MS).toISOString() };
}

/** Deleted runs, most recently deleted first. */
export async function listTrash(runsDir: string): Promise<TrashEntry[]> {
  const found = (await entries(runsDir)).sort((a, b) => b.at - a.at);
  return Promise.all(found.map(async (e) => describe(e.id, e.at, (await readRunInfo(e.dir).catch(() => ({ name: undefined }))).name)));
}

/** Puts the most recently deleted run `runId` back under its id. */
export async function restoreRun(runsDir: string, runId: string): Promise<void> {
  if (!isRunId(runId)) throw new FlowDeskError('BAD_ARGUMENT', `${JSON.stringify(runId)} is not a run id (${RUN_ID_RULE}).`);
  const entry = (await entries(runsDir)).filter((e) => e.id === runId).sort((a, b) => b.at - a.at)[0];
  if (!entry) throw new FlowDeskError('BAD_ARGUMENT', `There is no run ${runId} in the trash ${trashDir(runsDir)}; it may have been removed after ${TRASH_DAYS} days.`);
  const target = join(runsDir, runId);
  const taken = () => new FlowDeskError('BAD_ARGUMENT', `A run ${runId} already exists in ${runsDir}; delete or move it before restoring this one.`);
  if (existsSync(target)) throw taken();
  try {
    await rename(entry.dir, target);
  } catch (err) {
    // A run of that id created meanwhile is never overwritten: rename refuses a full folder.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') throw taken();
    throw new CheckpointError('IO_ERROR', `Cannot restore run ${runId} from ${entry.dir}: ${ioCause(err)}.`);
  }
}

/** Removes entries deleted more than TRASH_DAYS ago; returns the ids removed. */
export async function purgeTrash(runsDir: string, now = Date.now()): Promise<string[]> {
  const old = (await entries(runsDir)).filter((e) => now - e.at > TRASH_DAYS * DAY_MS);
  for (const e of old) await rm(e.dir, { recursive: true, force: true });
  return old.map((e) => e.id);
}
