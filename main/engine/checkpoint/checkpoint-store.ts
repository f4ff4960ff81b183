// Checkpoints as folders `checkpoints/step-N/` (model.json, weights.safetensors,
// optimizer.safetensors, state.json, and ema.safetensors where the weights are averaged), and
// the best-validation weights as `checkpoints/best/`; each written into a temporary folder,
// flushed, then renamed: a folder exists under its name only when whole, so resume always finds
// a complete one.
import { randomBytes } from 'node:crypto';
import { existsSync, type Dirent } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { CheckpointError } from '../errors.ts';
import { fsyncDir, writeFileSynced } from '../fs/atomic-write.ts';
import { readCheckedFile } from '../fs/checked-read.ts';
import { ioCause } from './io-cause.ts';
import { isProcessAlive } from './run-lock.ts';
import { BEST, checkpointsDir, EMA_FILE, MODEL_JSON, WEIGHTS_FILE } from '../runs/run-layout.ts';
import { checkedAgainst, parsedJson } from '../runs/validated-read.ts';
import { decodeSafetensors, encodeSafetensors, type NamedArray } from './safetensors.ts';

export interface CheckpointData {
  /** The training step the checkpoint was taken after; names the folder `step-<step>`. */
  step: number;
  /** model.json: whatever describes the model (format, config, initialisation flag). */
  model: object;
  weights: Record<string, NamedArray>;
  optimizer: Record<string, NamedArray>;
  /** Stored as optimizer.safetensors' `__metadata__`. */
  optimizerMeta?: Record<string, string>;
  /** weights.safetensors' `__metadata__` (which weights they are, see weights-meta.ts). */
  weightsMeta?: Record<string, string>;
  /** ema.safetensors: the moving average of the weights, named as `weights`; absent when averaging is off. */
  ema?: { tensors: Record<string, NamedArray>; meta: Record<string, string> };
  /** state.json: step, elapsed time, validation bits/dim, anything else; `step` is always set to `step`. */
  state: object;
}

export interface CheckpointRef {
  step: number;
  dir: string;
}

export interface WriteCheckpointOptions {
  /** How many of the newest checkpoints to keep, the one just written always among them. Defaults to 3. */
  keep?: number;
  /** Told when an old checkpoint could not be pruned; the new one is saved all the same. */
  onWarning?: (message: string) => void;
}

const STATE_JSON = 'state.json';
const OPTIMIZER_FILE = 'optimizer.safetensors';
/** state.json: the fields resume reads back; other fields (an import's source) ride along. */
const stateSchema = z.looseObject({
  step: z.number().int().min(0),
  elapsed: z.number().min(0).optional(),
  valBpd: z.number().nullable().optional(),
  initialValBpd: z.number().nullable().optional(),
  /** The lowest validation bits per dim up to this step (of the weights in checkpoints/best/). */
  bestValBpd: z.number().nullable().optional(),
});
export type CheckpointState = z.output<typeof stateSchema>;
/** `step-N` with N a plain decimal (no leading zeros, so one step has one folder name). */
const STEP_DIR = /^step-(0|[1-9]\d{0,14})$/;
/** `.step-N.tmp-<pid>-<suffix>` or `.best.tmp-...`: a folder being written, or an old one being replaced. */
const TEMP_DIR = /^\.(?:step-\d+|best)\.tmp-(\d+)-[A-Za-z0-9-]+$/;
/** Temporary folders this process is writing now (a stale one may carry our pid after a restart). */
const writing = new Set<string>();

function checkStep(step: unknown): void {
  if (!Number.isSafeInteger(step) || (step as number) < 0 || !STEP_DIR.test(`step-${step}`)) {
    throw new CheckpointError('BAD_ARGUMENT', `Checkpoint step must be a whole number from 0 to 10^15, got ${String(step)}.`);
  }
}

/** A checkpoint's JSON file as written (`what` names it in errors): two-space indented, a final newline. */
export function jsonFile(value: unknown, what: string): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CheckpointError('BAD_ARGUMENT', `Checkpoint ${what} must be a JSON object.`);
  }
  try {
    return `${JSON.stringify(value, null, 2)}\n`;
  } catch (err) {
    throw new CheckpointError('BAD_ARGUMENT', `Checkpoint ${what} cannot be written as JSON: ${(err as Error).message}`);
  }
}

function tempName(name: string, tag: string): string {
  return `.${name}.tmp-${process.pid}-${tag}${randomBytes(3).toString('hex')}`;
}

/**
 * Writes `files` as the checkpoint folder `checkpoints/step-<step>` of `runDir`, whole or not at
 * all (see writeFolderWhole). An existing step-<step> (a resumed run reaching it again) is replaced whole.
 */
export async function writeCheckpointFiles(runDir: string, step: number, files: Record<string, string | Uint8Array>): Promise<string> {
  checkStep(step);
  return writeFolderWhole(runDir, `step-${step}`, files);
}

/**
 * Writes `files` as `checkpoints/<name>` of `runDir`: into a temporary sibling, each file
 * flushed, then renamed into place (an existing folder replaced whole) and the parent flushed.
 */
async function writeFolderWhole(runDir: string, name: string, files: Record<string, string | Uint8Array>): Promise<string> {
  const root = checkpointsDir(runDir);
  const finalDir = join(root, name);
  const tmp = join(root, tempName(name, ''));
  const aside = join(root, tempName(name, 'old-'));
  let replaced = false;
  const failed = (err: unknown) =>
    new CheckpointError(
      'IO_ERROR',
      `Could not save checkpoint ${finalDir}: ${ioCause(err)}. Earlier checkpoints in ${root} are untouched; free some space or fix the folder's permissions, then resume.`,
    );
  writing.add(tmp).add(aside);
  try {
    const created = await mkdir(root, { recursive: true });
    if (created) await fsyncDir(dirname(created));
    await mkdir(tmp);
    for (const [name, data] of Object.entries(files)) await writeFileSynced(join(tmp, name), data);
    await fsyncDir(tmp);
    try {
      await rename(finalDir, aside);
      replaced = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await rename(tmp, finalDir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (replaced) await rename(aside, finalDir).catch(() => undefined);
    writing.delete(tmp);
    writing.delete(aside);
    throw failed(err);
  }
  writing.delete(tmp);
  try {
    await fsyncDir(root);
  } catch (err) {
    throw failed(err);
  } finally {
    // Left behind if this fails; removeStaleTemporaries clears it later.
    if (replaced) await rm(aside, { recursive: true, force: true }).catch(() => undefined);
    writing.delete(aside);
  }
  return finalDir;
}

export async function writeCheckpoint(runDir: string, data: CheckpointData, opts: WriteCheckpointOptions = {}): Promise<string> {
  const keep = opts.keep ?? 3;
  if (!Number.isSafeInteger(keep) || keep < 1) throw new CheckpointError('BAD_ARGUMENT', `keep must be a whole number of checkpoints, at least 1; got ${keep}.`);
  checkStep(data.step);
  // Everything is serialised before the disk is touched: a bad tensor is the caller's error, not an I/O one.
  const files = {
    [MODEL_JSON]: jsonFile(data.model, 'model'),
    [WEIGHTS_FILE]: encodeSafetensors(data.weights, data.weightsMeta),
    [OPTIMIZER_FILE]: encodeSafetensors(data.optimizer, data.optimizerMeta),
    [STATE_JSON]: jsonFile({ ...data.state, step: data.step }, 'state'),
    ...(data.ema ? { [EMA_FILE]: encodeSafetensors(data.ema.tensors, data.ema.meta) } : {}),
  };
  const dir = await writeCheckpointFiles(runDir, data.step, files);
  await pruneCheckpoints(runDir, dir, keep, opts.onWarning);
  return dir;
}

/**
 * Writes the best-validation weights as `checkpoints/best/` (model.json and weights.safetensors,
 * a model folder any loader reads), replacing the previous best whole. Not a step-N folder, so it
 * never takes one of the kept checkpoints' places and is never pruned.
 */
export async function writeBestWeights(runDir: string, model: object, weights: Record<string, NamedArray>, meta: Record<string, string>): Promise<string> {
  return writeFolderWhole(runDir, BEST, { [MODEL_JSON]: jsonFile(model, 'model'), [WEIGHTS_FILE]: encodeSafetensors(weights, meta) });
}

/**
 * Removes the oldest checkpoints beyond `keep`, never `current`: after a resume from an older
 * step, the checkpoint just written is the run's present even if higher steps linger.
 */
async function pruneCheckpoints(runDir: string, current: string, keep: number, onWarning?: (message: string) => void): Promise<void> {
  const others = (await listCheckpoints(runDir)).filter((c) => c.dir !== current);
  for (const old of others.slice(0, Math.max(0, others.length + 1 - keep))) {
    try {
      await rm(old.dir, { recursive: true, force: true });
    } catch (err) {
      onWarning?.(`Could not remove the old checkpoint ${old.dir}: ${ioCause(err)}.`);
    }
  }
}

async function readCheckpointsFolder(runDir: string): Promise<Dirent[]> {
  const root = checkpointsDir(runDir);
  try {
    return await readdir(root, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new CheckpointError('IO_ERROR', `Cannot list the checkpoints in ${root}: ${ioCause(err)}.`);
  }
}

/** Checkpoint folders of a run, oldest first; temporary folders and foreign names are ignored. */
export async function listCheckpoints(runDir: string): Promise<CheckpointRef[]> {
  const found: CheckpointRef[] = [];
  for (const entry of await readCheckpointsFolder(runDir)) {
    const m = entry.isDirectory() ? STEP_DIR.exec(entry.name) : null;
    if (m) found.push({ step: Number(m[1]), dir: join(checkpointsDir(runDir), entry.name) });
  }
  return found.sort((a, b) => a.step - b.step);
}

async function readCheckpointFile(path: string, roots: readonly string[] | undefined): Promise<Buffer> {
  try {
    return await readCheckedFile(path, { roots, what: 'checkpoint' });
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : `cannot be read: ${ioCause(err)}`;
    throw new CheckpointError('BAD_CHECKPOINT', `${path} ${why}.`);
  }
}

async function readJson(path: string, roots: readonly string[] | undefined): Promise<unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await readCheckpointFile(path, roots));
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError('BAD_CHECKPOINT', `${path} is not valid UTF-8: ${(err as Error).message}`);
  }
  return parsedJson(text, path);
}

async function readTensors(path: string, roots: readonly string[] | undefined) {
  const bytes = await readCheckpointFile(path, roots);
  return decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/** The step a `step-N` folder is named for, or null for any other folder. */
export function checkpointStepOf(dir: string): number | null {
  const named = STEP_DIR.exec(basename(dir));
  return named ? Number(named[1]) : null;
}

/**
 * Reads and checks every file of a checkpoint folder; BAD_CHECKPOINT names the file at fault.
 * With `roots` (the app's allowed folders) every file must really lie inside them (OutsideRootsError).
 */
export async function readCheckpoint(dir: string, roots?: readonly string[]): Promise<CheckpointData & { state: CheckpointState }> {
  const statePath = join(dir, STATE_JSON);
  const state = checkedAgainst(stateSchema, await readJson(statePath, roots), statePath);
  const named = checkpointStepOf(dir);
  if (named !== null && named !== state.step) {
    throw new CheckpointError('BAD_CHECKPOINT', `${statePath} says step ${state.step} but its folder is ${basename(dir)}; the checkpoint was moved or edited.`);
  }
  const modelPath = join(dir, MODEL_JSON);
  const model = await readJson(modelPath, roots);
  if (typeof model !== 'object' || model === null || Array.isArray(model)) throw new CheckpointError('BAD_CHECKPOINT', `${modelPath} is not a JSON object.`);
  const weights = await readTensors(join(dir, WEIGHTS_FILE), roots);
  const optimizer = await readTensors(join(dir, OPTIMIZER_FILE), roots);
  // Absent where averaging is off or the checkpoint predates it; damaged, it spoils the checkpoint.
  const emaPath = join(dir, EMA_FILE);
  const ema = existsSync(emaPath) ? await readTensors(emaPath, roots) : null;
  return {
    step: state.step, model, weights: weights.tensors, weightsMeta: weights.metadata, optimizer: optimizer.tensors, optimizerMeta: optimizer.metadata, state,
    ...(ema ? { ema: { tensors: ema.tensors, meta: ema.metadata } } : {}),
  };
}

/**
 * The newest checkpoint that reads back whole. A newer one that fails (a disk error after the
 * rename, a hand-edited file) is reported through `onWarning` and the previous one is used.
 */
export async function latestCheckpoint(runDir: string, onWarning?: (message: string) => void): Promise<CheckpointRef | null> {
  const all = await listCheckpoints(runDir);
  for (let i = all.length - 1; i >= 0; i--) {
    try {
      await readCheckpoint(all[i].dir);
      return all[i];
    } catch (err) {
      if (!(err instanceof CheckpointError)) throw err;
      const fallback = i > 0 ? `falling back to ${basename(all[i - 1].dir)}` : 'no older checkpoint to fall back to';
      onWarning?.(`Checkpoint ${all[i].dir} is unreadable (${err.message}); ${fallback}.`);
    }
  }
  return null;
}

/**
 * Removes the temporary folders a killed or failed writer left in `checkpoints/`; returns how
 * many. Folders of a process that is still running (possibly writing now) are left alone.
 */
export async function removeStaleTemporaries(runDir: string): Promise<number> {
  let removed = 0;
  for (const entry of await readCheckpointsFolder(runDir)) {
    const m = TEMP_DIR.exec(entry.name);
    const path = join(checkpointsDir(runDir), entry.name);
    const pid = Number(m?.[1]);
    if (!m || (pid === process.pid ? writing.has(path) : isProcessAlive(pid))) continue;
    try {
      await rm(path, { recursive: true, force: true });
    } catch (err) {
      throw new CheckpointError('IO_ERROR', `Cannot remove the unfinished checkpoint ${path}: ${ioCause(err)}.`);
    }
    removed += 1;
  }
  return removed;
}
