// A run folder: run.json (what was trained, on what, where), metrics.jsonl (one JSON line per
// step or evaluation, appended whole; a line torn by a crash is repaired on read), samples/
// and checkpoints/. Nothing here ever overwrites another run.
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError } from '../errors.ts';
import { writeFileAtomically } from '../fs/atomic-write.ts';

/** Creates a new, empty run folder under `parent`; never reuses an existing one. */
export async function createRunDir(parent: string, name?: string): Promise<string> {
  await mkdir(parent, { recursive: true });
  const base = name ?? `${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}-${randomBytes(2).toString('hex')}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(base)) {
    throw new CheckpointError('BAD_ARGUMENT', `Run name ${JSON.stringify(base)} must be 1-100 letters, digits, dots, dashes or underscores.`);
  }
  const dir = join(parent, base);
  try {
    await mkdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CheckpointError('BAD_ARGUMENT', `A run named ${base} already exists in ${parent}; choose another name or resume it.`);
    }
    throw err;
  }
  await mkdir(join(dir, 'samples'));
  await mkdir(join(dir, 'checkpoints'));
  return dir;
}

export async function writeRunJson(runDir: string, run: object): Promise<void> {
  await writeFileAtomically(join(runDir, 'run.json'), `${JSON.stringify(run, null, 2)}\n`);
}

export async function readRunJson(runDir: string): Promise<Record<string, unknown>> {
  const path = join(runDir, 'run.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CheckpointError('NO_CHECKPOINT', code === 'ENOENT' ? `${runDir} is not a FlowDesk run folder (no run.json).` : `${path} cannot be read (${code}).`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError('BAD_CHECKPOINT', `${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new CheckpointError('BAD_CHECKPOINT', `${path} is not a JSON object.`);
  return value as Record<string, unknown>;
}

/** Appends one metrics row as one whole line (a single write in append mode). */
export async function appendMetric(runDir: string, row: object): Promise<void> {
  await appendFile(join(runDir, 'metrics.jsonl'), `${JSON.stringify(row)}\n`);
}

/**
 * Every whole metrics row. A last line without its newline (torn by a crash mid-write) is cut
 * off the file, so later appends start on a clean line; `repaired` says how many bytes went.
 */
export async function readMetrics(runDir: string): Promise<{ rows: Record<string, unknown>[]; repaired: number }> {
  const path = join(runDir, 'metrics.jsonl');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { rows: [], repaired: 0 };
    throw err;
  }
  const end = text.lastIndexOf('\n') + 1;
  let repaired = 0;
  if (end < text.length) {
    repaired = Buffer.byteLength(text.slice(end));
    await truncate(path, Buffer.byteLength(text.slice(0, end)));
  }
  const rows: Record<string, unknown>[] = [];
  for (const line of text.slice(0, end).split('\n')) {
    if (!line.trim()) continue;
    try {
      const row = JSON.parse(line);
      if (row && typeof row === 'object') rows.push(row);
    } catch {
      // A garbled whole line (a disk error, not a torn write) is dropped, never fatal.
    }
  }
  return { rows, repaired };
}

/** Drops rows after `step` (a resumed run redoes them), rewriting the file atomically. */
export async function truncateMetricsAfter(runDir: string, step: number): Promise<void> {
  const { rows } = await readMetrics(runDir);
  const kept = rows.filter((r) => typeof r.step !== 'number' || r.step <= step);
  if (kept.length === rows.length) return;
  await writeFileAtomically(join(runDir, 'metrics.jsonl'), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

export interface RunSummary {
  dir: string;
  name: string;
  run: Record<string, unknown>;
  modified: number;
}

/** Run folders under `parent` with a readable run.json, most recently changed first. */
export async function listRuns(parent: string): Promise<RunSummary[]> {
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return [];
  }
  const runs: RunSummary[] = [];
  for (const name of names) {
    const dir = join(parent, name);
    try {
      const run = await readRunJson(dir);
      const modified = (await stat(join(dir, 'metrics.jsonl')).catch(() => stat(join(dir, 'run.json')))).mtimeMs;
      runs.push({ dir, name, run, modified });
    } catch {
      // Not a run folder (or a broken one): skipped in the listing.
    }
  }
  return runs.sort((a, b) => b.modified - a.modified);
}
