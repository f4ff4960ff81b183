// metrics.jsonl: one JSON line per step, evaluation, skipped step or rollback, appended whole.
// A line torn by a crash is left out on read and cut only by the run's lock holder (on resume);
// a whole line that is not a valid row is skipped and reported, never fatal.
import { open } from 'node:fs/promises';
import { z } from 'zod';
import { ioCause } from '../checkpoint/io-cause.ts';
import { runLockHolder } from '../checkpoint/run-lock.ts';
import { CheckpointError } from '../errors.ts';
import { writeFileAtomically } from '../fs/atomic-write.ts';
import { readCheckedFile } from '../fs/checked-read.ts';
import { metricsPath } from './run-layout.ts';
import { checkedAgainst, parsedJson } from './validated-read.ts';

/** How much of the end of metrics.jsonl a run listing reads to find the last row. */
const TAIL_BYTES = 256 * 1024;

/** Rows of kinds this version does not know (train, eval, skip, rollback today) pass, for readers to ignore. */
const metricRowSchema = z.looseObject({
  type: z.string(),
  step: z.number().int().min(0),
  time: z.number().optional(),
  /** A number, or the text of a non-finite one on a skipped step. */
  loss: z.union([z.number(), z.string()]).optional(),
  valBpd: z.number().optional(),
  /** On a conditional run's eval row: bits per dim of p(x) summed over classes, and the class accuracy (null: no image's class known). */
  valBpdUnconditional: z.number().optional(),
  valAccuracy: z.number().nullable().optional(),
  /** On an eval row: the time marks (minutes, common/time-marks.ts) it answers. */
  marks: z.array(z.number()).optional(),
});
export type MetricRecord = z.output<typeof metricRowSchema>;

/** Appends one row as one whole line: a single write in append mode (O_APPEND), so rows never interleave. */
export async function appendMetric(runDir: string, row: MetricRecord): Promise<void> {
  const path = metricsPath(runDir);
  const line = Buffer.from(`${JSON.stringify(row)}\n`, 'utf8');
  try {
    const handle = await open(path, 'a');
    try {
      const { bytesWritten } = await handle.write(line, 0, line.length);
      if (bytesWritten !== line.length) throw new Error(`only ${bytesWritten} of ${line.length} bytes were written`);
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new CheckpointError('IO_ERROR', `Cannot append to ${path}: ${ioCause(err)}.`);
  }
}

export interface ParsedMetrics {
  rows: MetricRecord[];
  /** Bytes up to and including the last newline. */
  wholeBytes: number;
  /** Whether bytes follow the last newline (a torn line, or one being written now). */
  torn: boolean;
  /** Whole lines that are not a valid row (a disk error or a hand edit, not a torn write). */
  skipped: number;
  /** The first skipped line's problem, naming the file, line and field. */
  problem?: string;
}

/** `fromStart` false: `bytes` is the file's tail, so its lines cannot be numbered. */
export function parseMetrics(bytes: Buffer, path: string, fromStart = true): ParsedMetrics {
  const wholeBytes = bytes.lastIndexOf(0x0a) + 1;
  const rows: MetricRecord[] = [];
  let skipped = 0;
  let problem: string | undefined;
  const lines = bytes.subarray(0, wholeBytes).toString('utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const where = fromStart ? `${path} line ${i + 1}` : path;
    try {
      rows.push(checkedAgainst(metricRowSchema, parsedJson(line, where), where));
    } catch (err) {
      skipped += 1;
      problem ??= (err as Error).message;
    }
  });
  return { rows, wholeBytes, torn: wholeBytes < bytes.length, skipped, ...(problem ? { problem } : {}) };
}

async function readMetricsBytes(path: string, roots?: readonly string[]): Promise<Buffer | null> {
  try {
    return await readCheckedFile(path, { roots, what: 'run' });
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CheckpointError('IO_ERROR', `${path} cannot be read: ${ioCause(err)}.`);
  }
}

export interface Metrics {
  rows: MetricRecord[];
  torn: boolean;
  skipped: number;
  problem?: string;
}

/**
 * Every whole, valid metrics row. Reading never changes the file, whoever holds the run: a last
 * line without its newline (torn by a crash, or being written now) is left out and reported as
 * `torn`; only the run's lock holder cuts it (`truncateMetricsAfter`, on resume). With `roots`
 * (the app's allowed folders) the file must really lie inside them (checked-read.ts).
 */
export async function readMetrics(runDir: string, roots?: readonly string[]): Promise<Metrics> {
  const path = metricsPath(runDir);
  const bytes = await readMetricsBytes(path, roots);
  if (!bytes) return { rows: [], torn: false, skipped: 0 };
  const { rows, torn, skipped, problem } = parseMetrics(bytes, path);
  return { rows, torn, skipped, ...(problem ? { problem } : {}) };
}

/**
 * Drops rows whose step is after `step` (a resumed run redoes those steps, so the curve has no
 * duplicates), along with a torn last line and invalid lines; the file is rewritten atomically.
 * Only the run's lock holder may rewrite it (another process may be appending), so the caller
 * must hold the lock (`acquireRunLock`). Returns what was wrong with the invalid lines it
 * dropped (naming the file, line and field), or null when there were none.
 */
export async function truncateMetricsAfter(runDir: string, step: number): Promise<string | null> {
  const holder = await runLockHolder(runDir);
  if (holder && holder.pid !== process.pid) {
    throw new CheckpointError('RUN_LOCKED', `run ${runDir} is in use by process ${holder.pid} since ${holder.since}; stop it first.`);
  }
  if (!holder) throw new CheckpointError('RUN_LOCKED', `run ${runDir} must be locked by this process before its metrics are rewritten.`);
  const path = metricsPath(runDir);
  const bytes = await readMetricsBytes(path);
  if (!bytes) return null;
  const { rows, torn, skipped, problem } = parseMetrics(bytes, path);
  const kept = rows.filter((r) => r.step <= step);
  const dropped = problem ? `${problem} ${skipped} unreadable line(s) dropped from ${path}.` : null;
  if (kept.length === rows.length && !torn && skipped === 0) return dropped;
  try {
    await writeFileAtomically(path, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  } catch (err) {
    throw new CheckpointError('IO_ERROR', `Cannot rewrite ${path}: ${ioCause(err)}.`);
  }
  return dropped;
}

/**
 * The last row and the last evaluation, reading only the end of the file unless no evaluation
 * is found there (a listing of many runs stays fast).
 */
export async function latestMetrics(runDir: string): Promise<{ last: MetricRecord | null; lastEval: MetricRecord | null }> {
  const path = metricsPath(runDir);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return { last: null, lastEval: null };
  }
  let rows: MetricRecord[];
  let whole: boolean;
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const tail = Buffer.alloc(length);
    await handle.read(tail, 0, length, size - length);
    whole = length === size;
    // A first partial line fails to parse and is skipped.
    rows = parseMetrics(tail, path, whole).rows;
  } finally {
    await handle.close();
  }
  const lastEvalOf = (all: MetricRecord[]) => [...all].reverse().find((r) => r.type === 'eval') ?? null;
  const lastEval = lastEvalOf(rows) ?? (whole ? null : lastEvalOf((await readMetrics(runDir)).rows));
  return { last: rows.at(-1) ?? null, lastEval };
}
