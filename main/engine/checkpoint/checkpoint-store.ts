// Checkpoints as folders `checkpoints/step-N/` (model.json, weights.safetensors,
// optimizer.safetensors, state.json), written into a temporary folder, flushed, then renamed:
// a folder named step-N exists only when whole, so resume always finds a complete one.
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CheckpointError } from '../errors.ts';
import { fsyncDir, writeFileSynced } from '../fs/atomic-write.ts';
import { decodeSafetensors, encodeSafetensors, type NamedArray } from './safetensors.ts';

export interface CheckpointData {
  step: number;
  /** model.json: format, config, initialisation flag. */
  model: object;
  weights: Record<string, NamedArray>;
  optimizer: Record<string, NamedArray>;
  optimizerMeta?: Record<string, string>;
  /** state.json: step, elapsed time, last evaluation. */
  state: object;
}

const STEP_DIR = /^step-(\d{1,12})$/;
const TEMP_DIR = /^\.step-\d+\.tmp-/;

/** A person-readable cause for a failed write. */
function ioCause(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOSPC':
      return 'the disk is full';
    case 'EROFS':
      return 'the folder is on a read-only file system';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EDQUOT':
      return 'the disk quota is exceeded';
    default:
      return (err as Error).message;
  }
}

export async function writeCheckpoint(runDir: string, data: CheckpointData, opts: { keep?: number } = {}): Promise<string> {
  const root = join(runDir, 'checkpoints');
  const finalDir = join(root, `step-${data.step}`);
  const tmp = join(root, `.step-${data.step}.tmp-${process.pid}-${Date.now()}`);
  try {
    await mkdir(tmp, { recursive: true });
    await writeFileSynced(join(tmp, 'weights.safetensors'), encodeSafetensors(data.weights));
    await writeFileSynced(join(tmp, 'optimizer.safetensors'), encodeSafetensors(data.optimizer, data.optimizerMeta));
    await writeFileSynced(join(tmp, 'model.json'), `${JSON.stringify(data.model, null, 2)}\n`);
    await writeFileSynced(join(tmp, 'state.json'), `${JSON.stringify({ ...data.state, step: data.step }, null, 2)}\n`);
    await fsyncDir(tmp);
    // Rewriting an existing step (a resumed run re-reaching it) replaces it whole.
    await rm(finalDir, { recursive: true, force: true });
    await rename(tmp, finalDir);
    await fsyncDir(root);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw new CheckpointError('IO_ERROR', `Could not save checkpoint ${data.step} in ${root}: ${ioCause(err)}. The previous checkpoint is intact; free space or fix the folder, then resume.`);
  }
  await pruneCheckpoints(runDir, opts.keep ?? 3);
  return finalDir;
}

async function pruneCheckpoints(runDir: string, keep: number): Promise<void> {
  const all = await listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await rm(old.dir, { recursive: true, force: true });
}

/** Whole checkpoints of a run, oldest first; temporary and foreign folders are ignored. */
export async function listCheckpoints(runDir: string): Promise<{ step: number; dir: string }[]> {
  let names: string[];
  try {
    names = await readdir(join(runDir, 'checkpoints'));
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, m: STEP_DIR.exec(name) }))
    .filter((e) => e.m)
    .map((e) => ({ step: Number(e.m![1]), dir: join(runDir, 'checkpoints', e.name) }))
    .sort((a, b) => a.step - b.step);
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CheckpointError('BAD_CHECKPOINT', `${path} cannot be read: ${ioCause(err)}.`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CheckpointError('BAD_CHECKPOINT', `${path} is not valid JSON: ${(err as Error).message}`);
  }
}

async function readTensors(path: string) {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new CheckpointError('BAD_CHECKPOINT', `${path} cannot be read: ${ioCause(err)}.`);
  }
  return decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

export async function readCheckpoint(dir: string): Promise<CheckpointData> {
  const state = (await readJson(join(dir, 'state.json'))) as { step?: unknown };
  if (!state || typeof state !== 'object' || !Number.isSafeInteger(state.step) || (state.step as number) < 0) {
    throw new CheckpointError('BAD_CHECKPOINT', `${join(dir, 'state.json')} has no valid "step".`);
  }
  const model = await readJson(join(dir, 'model.json'));
  if (!model || typeof model !== 'object') throw new CheckpointError('BAD_CHECKPOINT', `${join(dir, 'model.json')} is not a JSON object.`);
  const weights = await readTensors(join(dir, 'weights.safetensors'));
  const optimizer = await readTensors(join(dir, 'optimizer.safetensors'));
  return { step: state.step as number, model, weights: weights.tensors, optimizer: optimizer.tensors, optimizerMeta: optimizer.metadata, state };
}

/**
 * The newest checkpoint that reads back whole. A newer one that fails (a disk error after the
 * rename, a hand-edited file) is reported through `onWarning` and the previous one is used.
 */
export async function latestCheckpoint(runDir: string, onWarning?: (message: string) => void): Promise<{ step: number; dir: string } | null> {
  const all = await listCheckpoints(runDir);
  for (let i = all.length - 1; i >= 0; i--) {
    try {
      await readCheckpoint(all[i].dir);
      return all[i];
    } catch (err) {
      onWarning?.(`Checkpoint ${all[i].dir} is unreadable (${(err as Error).message}); using an older one.`);
    }
  }
  return null;
}

/** Removes temporary folders a killed writer left behind; returns how many. */
export async function removeStaleTemporaries(runDir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(join(runDir, 'checkpoints'));
  } catch {
    return 0;
  }
  const stale = names.filter((n) => TEMP_DIR.test(n));
  for (const name of stale) await rm(join(runDir, 'checkpoints', name), { recursive: true, force: true });
  return stale.length;
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}

/**
 * A RUN_OR_CHECKPOINT argument to the folder holding model.json and weights.safetensors: a run
 * folder (its newest whole checkpoint), a checkpoint folder, or an exported model folder.
 */
export async function resolveCheckpointDir(pathArg: string): Promise<string> {
  if (!(await isDir(pathArg))) {
    throw new CheckpointError('NO_CHECKPOINT', `${pathArg} is not a folder; give a run folder, one of its checkpoints/step-N folders, or an exported model folder.`);
  }
  if ((await isFile(join(pathArg, 'model.json'))) && (await isFile(join(pathArg, 'weights.safetensors')))) return pathArg;
  if (basename(pathArg) === 'checkpoints') return resolveCheckpointDir(dirname(pathArg));
  const latest = await latestCheckpoint(pathArg);
  if (latest) return latest.dir;
  throw new CheckpointError('NO_CHECKPOINT', `${pathArg} holds no model: no model.json + weights.safetensors and no whole checkpoint under checkpoints/. Train first, or point at an exported model folder.`);
}
