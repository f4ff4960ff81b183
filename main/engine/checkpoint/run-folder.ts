// A run folder: run.json (what was trained, on what, where), metrics.jsonl (one JSON line per
// step or evaluation, appended whole; a line torn by a crash is repaired on read), samples/
// and checkpoints/. Nothing here ever overwrites another run.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError } from '../errors.ts';
import { writeFileAtomically } from '../fs/atomic-write.ts';
import { ioCause } from './io-cause.ts';
import { runLockHolder } from './run-lock.ts';

const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** How much of the end of metrics.jsonl a run listing reads to find the last row. */
const TAIL_BYTES = 256 * 1024;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function defaultRunName(): string {
  return `${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}-${randomBytes(2).toString('hex')}`;
}

/**
 * Creates a new run folder `parent/name` with samples/ and checkpoints/; never reuses an
 * existing one. `name` defaults to the UTC time and a random suffix, e.g. 2026-11-23T10-15-00-ab12.
 */
export async function createRunDir(parent: string, name?: string): Promise<string> {
  if (name !== undefined && !RUN_NAME.test(name)) {
    throw new CheckpointError('BAD_ARGUMENT', `Run name ${JSON.stringify(name)} must be 1-100 letters, digits, dots, dashes or underscores, starting with a letter or digit.`);
  }
  try {
    await mkdir(parent, { recursive: true });
    // A default name that collides (same second, same suffix) is drawn again; a chosen one is refused.
    for (let attempt = 0; ; attempt++) {
      const base = name ?? defaultRunName();
      const dir = join(parent, base);
      try {
        await mkdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (name === undefined && attempt < 5) continue;
        throw new CheckpointError('BAD_ARGUMENT', `A run named ${base} already exists in ${parent}; choose another name or resume it.`);
      }
      await mkdir(join(dir, 'samples'));
      await mkdir(join(dir, 'checkpoints'));
      return dir;
    }
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError('IO_ERROR', `Cannot create a run folder in ${parent}: ${ioCause(err)}.`);
  }
}

/** Writes run.json atomically: any JSON object (config, data fingerprint, backend, versions, created). */
export async function writeRunJson(runDir: string, run: object): Promise<void> {
  if (!isPlainObject(run)) throw new CheckpointError('BAD_ARGUMENT', 'run.json must hold a JSON object.');
  const path = join(runDir, 'run.json');
  try {
    await writeFileAtomically(path, `${JSON.stringify(run, null, 2)}\n`);
  } catch (err) {
    throw new CheckpointError('IO_ERROR', `Cannot write ${path}: ${ioCause(err)}.`);
  }
}

export async function readRunJson(runDir: string): Promise<Record<string, unknown>> {
  const path = join(runDir, 'run.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CheckpointError('NO_CHECKPOINT', `${runDir} is not a FlowDesk run folder (no run.json).`);
    throw new CheckpointError('IO_ERROR', `${path} cannot be read: ${ioCause(err)}.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError('BAD_CHECKPOINT', `${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(value)) throw new CheckpointError('BAD_CHECKPOINT', `${path} must hold a JSON object, not ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}.`);
  return value;
}

/**
 * Appends one metrics row as one whole line: a single write in append mode (O_APPEND), so rows
 * from one writer never interleave and a crash can only tear the last line.
 */
export async function appendMetric(runDir: string, row: object): Promise<void> {
  if (!isPlainObject(row)) throw new CheckpointError('BAD_ARGUMENT', 'A metrics row must be a JSON object.');
  const path = join(runDir, 'metrics.jsonl');
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

interface ParsedMetrics {
  rows: Record<string, unknown>[];
  /** Bytes up to and including the last newline. */
  wholeBytes: number;
  /** Whether bytes follow the last newline (a torn line, or one being written now). */
  torn: boolean;
  /** Whole lines that are not a JSON object (a disk error, not a torn write). */
  garbled: number;
}

function parseMetrics(bytes: Buffer): ParsedMetrics {
  const wholeBytes = bytes.lastIndexOf(0x0a) + 1;
  const rows: Record<string, unknown>[] = [];
  let garbled = 0;
  for (const line of bytes.subarray(0, wholeBytes).toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const row = JSON.parse(line) as unknown;
      if (isPlainObject(row)) rows.push(row);
      else garbled += 1;
    } catch {
      garbled += 1;
    }
  }
  return { rows, wholeBytes, torn: wholeBytes < bytes.length, garbled };
}

async function readMetricsBytes(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CheckpointError('IO_ERROR', `${path} cannot be read: ${ioCause(err)}.`);
  }
}

/**
 * Every whole metrics row. Reading never changes the file, whoever holds the run: a last line
 * without its newline (torn by a crash, or being written now) is left out of `rows` and
 * reported as `torn`; only the run's lock holder cuts it (`truncateMetricsAfter`, on resume).
 * `skipped` counts whole lines that are not JSON objects; they are left out, never fatal.
 */
export async function readMetrics(runDir: string): Promise<{ rows: Record<string, unknown>[]; torn: boolean; skipped: number }> {
  const bytes = await readMetricsBytes(join(runDir, 'metrics.jsonl'));
  if (!bytes) return { rows: [], torn: false, skipped: 0 };
  const parsed = parseMetrics(bytes);
  return { rows: parsed.rows, torn: parsed.torn, skipped: parsed.garbled };
}

/**
 * Drops rows whose step is after `step` (a resumed run redoes those steps, so the curve has no
 * duplicates), along with a torn last line and garbled lines; the file is rewritten atomically.
 * Only the run's lock holder may rewrite it (another process may be appending), so the caller
 * must hold the lock (`acquireRunLock`).
 */
export async function truncateMetricsAfter(runDir: string, step: number): Promise<void> {
  const holder = await runLockHolder(runDir);
  if (holder && holder.pid !== process.pid) {
    throw new CheckpointError('RUN_LOCKED', `run ${runDir} is in use by process ${holder.pid} since ${holder.since}; stop it first.`);
  }
  if (!holder) throw new CheckpointError('RUN_LOCKED', `run ${runDir} must be locked by this process before its metrics are rewritten.`);
  const path = join(runDir, 'metrics.jsonl');
  const bytes = await readMetricsBytes(path);
  if (!bytes) return;
  const { rows, torn, garbled } = parseMetrics(bytes);
  const kept = rows.filter((r) => typeof r.step !== 'number' || r.step <= step);
  if (kept.length === rows.length && !torn && garbled === 0) return;
  try {
    await writeFileAtomically(path, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  } catch (err) {
    throw new CheckpointError('IO_ERROR', `Cannot rewrite ${path}: ${ioCause(err)}.`);
  }
}

export interface RunSummary {
  dir: string;
  /** The folder's name, which is the run's id. */
  name: string;
  /** run.json as written: config, data, backend, versions. */
  run: Record<string, unknown>;
  /** run.json's "created" when it is a date, else run.json's modification time (ISO 8601). */
  created: string;
  /** The last whole metrics row, or null before the first one. */
  lastMetric: Record<string, unknown> | null;
}

/** The last whole row of metrics.jsonl, reading only the end of the file. */
async function lastMetricRow(path: string): Promise<Record<string, unknown> | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return null;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const tail = Buffer.alloc(length);
    await handle.read(tail, 0, length, size - length);
    const rows = parseMetrics(tail).rows; // a first partial line fails to parse and is skipped
    return rows.at(-1) ?? null;
  } finally {
    await handle.close();
  }
}

/** Run folders under `parent` with a readable run.json, newest first; others are skipped. */
export async function listRuns(parent: string): Promise<RunSummary[]> {
  let names: string[];
  try {
    names = await readdir(parent);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CheckpointError('IO_ERROR', `Cannot list the runs in ${parent}: ${ioCause(err)}.`);
  }
  const runs: { summary: RunSummary; time: number }[] = [];
  for (const name of names) {
    const dir = join(parent, name);
    let run: Record<string, unknown>;
    try {
      run = await readRunJson(dir);
    } catch {
      continue; // not a run folder, or a broken one: not listed
    }
    const stated = typeof run.created === 'string' ? Date.parse(run.created) : NaN;
    const time = Number.isFinite(stated) ? stated : ((await stat(join(dir, 'run.json')).catch(() => null))?.mtimeMs ?? 0);
    const lastMetric = await lastMetricRow(join(dir, 'metrics.jsonl'));
    runs.push({ summary: { dir, name, run, created: new Date(time).toISOString(), lastMetric }, time });
  }
  runs.sort((a, b) => b.time - a.time || (a.summary.name < b.summary.name ? 1 : -1));
  return runs.map((r) => r.summary);
}
