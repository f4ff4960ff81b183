// The queue of a runs folder: runs a person lined up to train one after another, kept in
// `queue.json` beside the run folders so it survives a restart. Written atomically; read back
// checked, so a damaged file names its field. Only settings travel here: each entry's model and
// training settings are checked again, against today's bounds, when it starts.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ioCause } from '../checkpoint/io-cause.ts';
import { runLockHolder } from '../checkpoint/run-lock.ts';
import { CheckpointError, FlowDeskError } from '../errors.ts';
import { writeFileAtomically } from '../fs/atomic-write.ts';
import { checkedAgainst, parsedJson } from './validated-read.ts';

export const QUEUE_FORMAT = 'flowdesk.queue';
export const QUEUE_VERSION = 1;
export const QUEUE_FILE = 'queue.json';

export const queuePath = (runsDir: string): string => join(runsDir, QUEUE_FILE);

export interface QueueEntry {
  /** Stable id of the entry (not a run id: the run gets its own when it starts). */
  id: string;
  /** When it was added (ISO 8601). */
  added: string;
  /** Folder of images, or null for the bundled digits. */
  folder: string | null;
  model: Record<string, unknown>;
  train: Record<string, unknown>;
}

interface QueueFile {
  format: typeof QUEUE_FORMAT;
  version: typeof QUEUE_VERSION;
  entries: QueueEntry[];
}

const settings = z.record(z.string(), z.unknown());
const queueSchema = z.object({
  format: z.literal(QUEUE_FORMAT),
  version: z.literal(QUEUE_VERSION),
  entries: z.array(z.object({ id: z.string().min(1), added: z.string(), folder: z.string().nullable(), model: settings, train: settings })),
});

/** The queued entries in the order they start; none when the runs folder has no queue file. */
export async function readQueue(runsDir: string): Promise<QueueEntry[]> {
  const path = queuePath(runsDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CheckpointError('IO_ERROR', `Cannot read the queue ${path}: ${ioCause(err)}.`);
  }
  return checkedAgainst(queueSchema, parsedJson(text, path), path).entries as QueueEntry[];
}

async function writeQueue(runsDir: string, entries: QueueEntry[]): Promise<void> {
  const file: QueueFile = { format: QUEUE_FORMAT, version: QUEUE_VERSION, entries };
  await mkdir(runsDir, { recursive: true });
  await writeFileAtomically(queuePath(runsDir), `${JSON.stringify(file, null, 2)}\n`);
}

/** Ids that sort by time added and never repeat within a process. */
let counter = 0;
function newEntryId(): string {
  return `q${Date.now().toString(36)}-${(counter++).toString(36)}`;
}

/** Changes of a runs folder's queue in this process, one after another. */
const editing = new Map<string, Promise<unknown>>();

/**
 * Runs `change` (a read, change and write of queue.json) after the ones before it on the same
 * runs folder: two adds at once (a person clicking Queue twice) would otherwise both read the
 * old queue, and the second write would drop the first entry.
 */
function edit<T>(runsDir: string, change: () => Promise<T>): Promise<T> {
  const key = resolve(runsDir);
  const next = (editing.get(key) ?? Promise.resolve()).then(change);
  editing.set(key, next.catch(() => undefined));
  return next;
}

/** Adds an entry at the end; returns the queue as it now is. */
export function appendToQueue(runsDir: string, entry: Omit<QueueEntry, 'id' | 'added'>): Promise<QueueEntry[]> {
  return edit(runsDir, async () => {
    const entries = [...(await readQueue(runsDir)), { id: newEntryId(), added: new Date().toISOString(), ...entry }];
    await writeQueue(runsDir, entries);
    return entries;
  });
}

function indexOf(entries: QueueEntry[], id: string): number {
  const index = entries.findIndex((e) => e.id === id);
  if (index < 0) throw new FlowDeskError('BAD_ARGUMENT', `The queue has no entry ${id}; it may have started or been removed already (list the queue again).`);
  return index;
}

/** Removes entry `id`; returns the queue as it now is. */
export function removeFromQueue(runsDir: string, id: string): Promise<QueueEntry[]> {
  return edit(runsDir, async () => {
    const entries = await readQueue(runsDir);
    entries.splice(indexOf(entries, id), 1);
    await writeQueue(runsDir, entries);
    return entries;
  });
}

/** Moves entry `id` to position `to` (0 starts next; past the end means last); returns the queue as it now is. */
export function moveInQueue(runsDir: string, id: string, to: number): Promise<QueueEntry[]> {
  return edit(runsDir, async () => {
    const entries = await readQueue(runsDir);
    const [entry] = entries.splice(indexOf(entries, id), 1);
    entries.splice(Math.min(Math.max(0, to), entries.length), 0, entry);
    await writeQueue(runsDir, entries);
    return entries;
  });
}

/** Takes the first entry off the queue (before it starts, so one that fails never blocks the rest). */
export function takeNextFromQueue(runsDir: string): Promise<QueueEntry | null> {
  return edit(runsDir, async () => {
    const [first, ...rest] = await readQueue(runsDir);
    if (!first) return null;
    await writeQueue(runsDir, rest);
    return first;
  });
}

/** A run of `runsDir` that another process is training now (its lock held and alive), or null. */
export async function runTrainedElsewhere(runsDir: string): Promise<string | null> {
  const names = await readdir(runsDir).catch(() => [] as string[]);
  for (const name of names) {
    const holder = await runLockHolder(join(runsDir, name));
    if (holder && !(holder.pid === process.pid && holder.host === hostname())) return name;
  }
  return null;
}
