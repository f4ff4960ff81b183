// The one loader for "a run, a checkpoint or a model folder": a run folder gives its newest
// whole checkpoint (never a stray model at its top level), a checkpoints/ folder its run's, and
// any other folder holding model.json + weights.safetensors (a checkpoint, an export) itself.
// Which weights (common/weights.ts): the moving average where the checkpoint holds one (the
// default), the last step's, or the run's best-validation weights in checkpoints/best/.
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_WEIGHTS, type WeightsChoice, type WeightsInfo } from '../../../common/weights.ts';
import { checkpointStepOf, latestCheckpoint } from '../checkpoint/checkpoint-store.ts';
import { decodeSafetensors, type NamedArray } from '../checkpoint/safetensors.ts';
import { CheckpointError } from '../errors.ts';
import { readCheckedFile } from '../fs/checked-read.ts';
import type { FlowModel } from '../models/flow-model.ts';
import { loadModel, parseModelJson, type ModelJson } from '../models/model-io.ts';
import { bestDir, CHECKPOINTS, EMA_FILE, MODEL_JSON, runJsonPath, WEIGHTS_FILE } from './run-layout.ts';
import { parsedJson } from './validated-read.ts';
import { weightsInfoOf } from './weights-meta.ts';

/** model.json holds a few settings; anything near this size is not one. */
const MAX_MODEL_JSON_BYTES = 1024 * 1024;
/** The most Node reads into one buffer (about 2 GB on 64-bit). */
const MAX_WEIGHTS_BYTES = 2 ** 31 - 1;
const WHAT_TO_GIVE = 'give a run (its folder or id), one of its checkpoints/step-N folders, or an exported model folder';

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}

/**
 * The folder holding the model that `pathArg` names. Skipped damaged checkpoints are reported
 * through `onWarning`. A run folder answers only with its own checkpoints, so an export written
 * over a run (a defect of earlier versions) never shadows what it trained.
 */
export async function resolveModelDir(pathArg: string, onWarning?: (message: string) => void): Promise<string> {
  const info = await stat(pathArg).catch(() => null);
  if (!info) throw new CheckpointError('NO_CHECKPOINT', `${pathArg} does not exist; ${WHAT_TO_GIVE}.`);
  if (!info.isDirectory()) throw new CheckpointError('NO_CHECKPOINT', `${pathArg} is a file, not a folder; ${WHAT_TO_GIVE}.`);
  const isRun = existsSync(runJsonPath(pathArg));
  if (!isRun && (await isFile(join(pathArg, MODEL_JSON))) && (await isFile(join(pathArg, WEIGHTS_FILE)))) return pathArg;
  if (!isRun && basename(pathArg) === CHECKPOINTS) return resolveModelDir(dirname(pathArg), onWarning);
  const skipped: string[] = [];
  const latest = await latestCheckpoint(pathArg, (message) => {
    skipped.push(message);
    onWarning?.(message);
  });
  if (latest) return latest.dir;
  if (skipped.length > 0) {
    throw new CheckpointError('NO_CHECKPOINT', `${pathArg} has ${skipped.length} checkpoint(s) but none reads back whole; the newest: ${skipped[0]}`);
  }
  throw new CheckpointError(
    'NO_CHECKPOINT',
    isRun
      ? `Run ${pathArg} has no whole checkpoint under ${CHECKPOINTS}/ yet; train it first.`
      : `${pathArg} holds no model: no ${MODEL_JSON} + ${WEIGHTS_FILE} and no whole checkpoint under ${CHECKPOINTS}/. Train first, or point at an exported model folder.`,
  );
}

/** A model folder and the weights file in it that a choice of weights names. */
export interface ChosenWeights {
  dir: string;
  /** weights.safetensors, or a checkpoint's ema.safetensors. */
  file: string;
  requested: WeightsChoice;
}

/** The run's checkpoints/best/ for a run folder or its checkpoints/ folder; best weights are kept per run. */
async function resolveBestDir(pathArg: string): Promise<string> {
  const runDir = existsSync(runJsonPath(pathArg)) ? pathArg : basename(pathArg) === CHECKPOINTS ? dirname(pathArg) : null;
  if (runDir === null) {
    await resolveModelDir(pathArg); // when pathArg holds no model at all, its error says so
    throw new CheckpointError('NO_CHECKPOINT', `${pathArg} is not a run; the best weights are kept per run, in its ${CHECKPOINTS}/best/: give the run (its folder or id).`);
  }
  const dir = bestDir(runDir);
  if (!(await isFile(join(dir, MODEL_JSON))) || !(await isFile(join(dir, WEIGHTS_FILE)))) {
    throw new CheckpointError('NO_CHECKPOINT', `Run ${runDir} has no best weights in ${dir} yet (they are saved at each better evaluation; runs trained before FlowDesk kept them have none); choose the averaged or last weights.`);
  }
  return dir;
}

/** Where the `requested` weights of `pathArg` (see resolveModelDir) lie. */
export async function resolveWeights(pathArg: string, requested: WeightsChoice = DEFAULT_WEIGHTS, onWarning?: (message: string) => void): Promise<ChosenWeights> {
  if (requested === 'best') return { dir: await resolveBestDir(pathArg), file: WEIGHTS_FILE, requested };
  const dir = await resolveModelDir(pathArg, onWarning);
  const averaged = requested === 'avg' && (await isFile(join(dir, EMA_FILE)));
  return { dir, file: averaged ? EMA_FILE : WEIGHTS_FILE, requested };
}

/**
 * Reads one model file through readCheckedFile: a FIFO, a link to /dev/zero or (with `roots`,
 * the app's allowed folders) a file that really lies outside them is refused before the strict
 * parsers see a byte.
 */
async function readModelFile(path: string, max: number, roots?: readonly string[]): Promise<Buffer> {
  try {
    return await readCheckedFile(path, { roots, maxBytes: max, what: 'model' });
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new CheckpointError('BAD_CHECKPOINT', `${path} ${code === 'ENOENT' ? 'is missing' : `cannot be read (${code})`}; a model folder holds ${MODEL_JSON} and ${WEIGHTS_FILE}.`);
  }
}

export interface ModelFolderContents {
  json: ModelJson;
  tensors: Record<string, NamedArray>;
  weightsPath: string;
  /** Which weights `tensors` are, as their file says (a file without metadata: a checkpoint's last weights). */
  weights: WeightsInfo;
}

/**
 * model.json (checked) and the decoded weights of a model folder (weights.safetensors unless
 * `chosen` names another file), without building the model. With `roots`, every file read must
 * really lie inside them (see readModelFile).
 */
export async function readModelFolder(dir: string, opts: { roots?: readonly string[]; chosen?: ChosenWeights } = {}): Promise<ModelFolderContents> {
  const jsonPath = join(dir, MODEL_JSON);
  const weightsPath = join(dir, opts.chosen?.file ?? WEIGHTS_FILE);
  const json = parseModelJson(parsedJson((await readModelFile(jsonPath, MAX_MODEL_JSON_BYTES, opts.roots)).toString('utf8'), jsonPath), jsonPath);
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(await readModelFile(weightsPath, MAX_WEIGHTS_BYTES, opts.roots)), weightsPath);
  const weights = weightsInfoOf(metadata, opts.chosen?.requested ?? DEFAULT_WEIGHTS, { used: 'last', step: checkpointStepOf(dir) }, weightsPath);
  return { json, tensors, weightsPath, weights };
}

/** The chosen weights of the model `pathArg` names (see resolveWeights), read but not built. */
export async function readChosenWeights(pathArg: string, requested?: WeightsChoice, onWarning?: (message: string) => void): Promise<ModelFolderContents & { dir: string }> {
  const chosen = await resolveWeights(pathArg, requested, onWarning);
  return { ...(await readModelFolder(chosen.dir, { chosen })), dir: chosen.dir };
}

/**
 * The model `pathArg` names (see resolveModelDir) with the `weights` chosen (default: averaged),
 * built and ready for inference; `dir` is where it was read.
 */
export async function loadModelFolder(
  pathArg: string,
  opts: { weights?: WeightsChoice; onWarning?: (message: string) => void } = {},
): Promise<{ model: FlowModel; json: ModelJson; dir: string; weights: WeightsInfo }> {
  const { json, tensors, weightsPath, weights, dir } = await readChosenWeights(pathArg, opts.weights, opts.onWarning);
  return { model: loadModel(json, tensors, weightsPath), json, dir, weights };
}
