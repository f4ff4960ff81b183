// Lab models on disk, one folder each under <runs>/lab/<id>: model.json (family, settings, target),
// weights.safetensors (the same open format as image models), curve.jsonl (the loss) and
// result.json (the evaluation). Written atomically under the folder's lock, so a Lab table read
// while one trains, or after a crash, never sees half a model.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import * as tf from '../tf.ts';
import { acquireRunLock, type RunLock } from '../checkpoint/run-lock.ts';
import { decodeSafetensors, encodeSafetensors, type NamedArray } from '../checkpoint/safetensors.ts';
import { ioCause } from '../checkpoint/io-cause.ts';
import { CheckpointError } from '../errors.ts';
import { writeFileAtomically } from '../fs/atomic-write.ts';
import { checkedAgainst, parsedJson } from '../runs/validated-read.ts';
import { MODEL_JSON, WEIGHTS_FILE } from '../runs/run-layout.ts';
import { defaultRunName } from '../runs/create-run.ts';
import { isRunId, RUN_ID_RULE } from '../runs/run-id.ts';
import { checkSettings } from '../../../common/settings/check.ts';
import { LAB_FLOW_NAMES, LAB_MODEL_FORMAT, type LabTargetSpec } from '../../../common/lab/lab-catalog.ts';
import { labFields, type LabSettings } from '../../../common/lab/lab-fields.ts';
import type { LabResult } from '../../../common/lab/lab-result.ts';
import type { ParamStore } from '../flows/params.ts';

const LAB_MODEL_VERSION = 1;

export const labDir = (runsDir: string): string => join(runsDir, 'lab');
const curvePath = (dir: string): string => join(dir, 'curve.jsonl');
const resultPath = (dir: string): string => join(dir, 'result.json');

const settingsSchema = z.record(z.string(), z.unknown()).transform((input, ctx) => {
  const checked = checkSettings<LabSettings>(labFields, input, 'stored');
  if (checked.ok) return checked.value;
  ctx.addIssue({ code: 'custom', path: [checked.problem.field], message: checked.problem.describe(checked.problem.field) });
  return z.NEVER;
});

const targetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('samples'), name: z.string() }),
  z.object({ kind: z.literal('points'), points: z.array(z.array(z.number())) }),
  z.object({ kind: z.literal('image'), width: z.number().int().positive(), height: z.number().int().positive(), pixels: z.array(z.number()) }),
  z.object({ kind: z.literal('csv'), file: z.string() }),
  z.object({ kind: z.literal('energy'), name: z.string() }),
  z.object({ kind: z.literal('expression'), expression: z.string() }),
  z.object({ kind: z.literal('model'), id: z.string() }),
]);

const modelJsonSchema = z.object({
  format: z.literal(LAB_MODEL_FORMAT),
  version: z.number().int().min(1).max(LAB_MODEL_VERSION),
  flow: z.enum(LAB_FLOW_NAMES as [string, ...string[]]),
  dim: z.number().int().min(1).max(64),
  settings: settingsSchema,
  target: targetSchema,
  created: z.string(),
  /** Steps trained so far (a model trained further counts on). */
  step: z.number().int().min(0),
  /** Trainable weights (buffers such as permutations not counted); written with the weights, absent in models saved before it was. */
  parameters: z.number().int().min(0).optional(),
});
export type LabModelJson = z.output<typeof modelJsonSchema> & { target: LabTargetSpec };

export type { LabResult };

const resultSchema = z.object({
  testNll: z.number().nullable(), klToTruth: z.number().nullable(), klSe: z.number().nullable(), ess: z.number().nullable(),
  seconds: z.number(), msPerStep: z.number(), sampleMs: z.number(), densityMs: z.number(),
});

export interface LabCurvePoint { step: number; loss: number; elapsed: number }

export interface LabEntry {
  id: string;
  dir: string;
  model: LabModelJson;
  result: LabResult | null;
}

export function labModelDir(runsDir: string, id: string): string {
  if (!isRunId(id)) throw new CheckpointError('BAD_ARGUMENT', `"${id}" is not a Lab model id: ${RUN_ID_RULE}.`);
  return join(labDir(runsDir), id);
}

/**
 * A new Lab model's folder, locked: nothing is written into it before the lock is held. `id`
 * defaults to `prefix`, the time and a random suffix (drawn again on a collision); a chosen id
 * that exists is refused.
 */
export async function createLabFolder(runsDir: string, id: string | undefined, prefix = 'lab'): Promise<{ id: string; dir: string; lock: RunLock }> {
  await mkdir(labDir(runsDir), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    const name = id ?? `${prefix}-${defaultRunName()}`;
    const dir = labModelDir(runsDir, name);
    try {
      await mkdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new CheckpointError('IO_ERROR', `Cannot create ${dir}: ${ioCause(err)}.`);
      if (id === undefined && attempt < 5) continue;
      throw new CheckpointError('BAD_ARGUMENT', `A Lab model named ${name} exists already in ${labDir(runsDir)}; choose another name.`);
    }
    return { id: name, dir, lock: await acquireRunLock(dir) };
  }
}

/** Locks an existing Lab model's folder to train it further (RUN_LOCKED while another process has it). */
export async function lockLabFolder(runsDir: string, id: string): Promise<{ dir: string; lock: RunLock }> {
  const dir = labModelDir(runsDir, id);
  await readLabModelJson(dir);
  return { dir, lock: await acquireRunLock(dir) };
}

/** Removes a Lab model for good; RUN_LOCKED while anyone trains it (its lock is taken for the removal). */
export async function deleteLabModel(runsDir: string, id: string): Promise<void> {
  const { dir, lock } = await lockLabFolder(runsDir, id);
  try {
    await rm(dir, { recursive: true, force: true });
  } catch (err) {
    throw new CheckpointError('IO_ERROR', `Cannot delete ${dir}: ${ioCause(err)}.`);
  } finally {
    await lock.release();
  }
}

/** model.json and the weights, each replaced atomically; call with the folder's lock held. */
export async function saveLabModel(dir: string, json: LabModelJson, params: ParamStore): Promise<void> {
  const tensors: Record<string, NamedArray> = {};
  for (const [name, v] of [...params.variables, ...params.buffers]) {
    // Buffers may be whole numbers (an order, a permutation); they keep their type on disk.
    tensors[name] = v.dtype === 'int32' ? { dtype: 'int32', shape: v.shape, data: v.dataSync() as Int32Array } : { dtype: 'float32', shape: v.shape, data: v.dataSync() as Float32Array };
  }
  await writeFileAtomically(join(dir, WEIGHTS_FILE), encodeSafetensors(tensors, { format: LAB_MODEL_FORMAT }));
  const parameters = [...params.variables.values()].reduce((sum, v) => sum + v.size, 0);
  await writeFileAtomically(join(dir, MODEL_JSON), `${JSON.stringify({ ...json, parameters }, null, 2)}\n`);
}

export async function saveLabCurve(dir: string, curve: readonly LabCurvePoint[]): Promise<void> {
  await writeFileAtomically(curvePath(dir), curve.map((p) => JSON.stringify(p)).join('\n') + (curve.length ? '\n' : ''));
}

export async function saveLabResult(dir: string, result: LabResult): Promise<void> {
  await writeFileAtomically(resultPath(dir), `${JSON.stringify(result, null, 2)}\n`);
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CheckpointError('IO_ERROR', `Cannot read ${path}: ${ioCause(err)}.`);
  }
}

export async function readLabModelJson(dir: string): Promise<LabModelJson> {
  const file = join(dir, MODEL_JSON);
  const text = await readText(file);
  if (text === null) throw new CheckpointError('NO_CHECKPOINT', `${dir} holds no Lab model (no ${MODEL_JSON}).`);
  return checkedAgainst(modelJsonSchema, parsedJson(text, file), file) as LabModelJson;
}

/** Loads saved weights into a freshly built model of the same family and settings. */
export async function loadLabWeights(dir: string, params: ParamStore): Promise<void> {
  const file = join(dir, WEIGHTS_FILE);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new CheckpointError('NO_CHECKPOINT', `Cannot read ${file}: ${ioCause(err)}.`);
  }
  const { tensors } = decodeSafetensors(bytes, file);
  for (const [name, v] of [...params.variables, ...params.buffers]) {
    const t = tensors[name];
    const expected = v.dtype === 'int32' ? 'int32' : 'float32';
    if (!t || t.shape.join() !== v.shape.join() || t.dtype !== expected) {
      const found = t ? `${t.dtype} [${t.shape.join(', ')}], expected ${expected} [${v.shape.join(', ')}]` : 'missing';
      throw new CheckpointError('BAD_CHECKPOINT', `${file}: tensor "${name}" is ${found}; the file does not match model.json.`);
    }
    v.assign(tf.tensor(t.data, t.shape, expected));
  }
}

export async function readLabCurve(dir: string): Promise<LabCurvePoint[]> {
  const file = curvePath(dir);
  const text = await readText(file);
  if (text === null) return [];
  const point = z.object({ step: z.number(), loss: z.number().nullable().transform((v) => v ?? NaN), elapsed: z.number() });
  return text.split('\n').filter((l) => l.trim()).map((line, i) => checkedAgainst(point, parsedJson(line, `${file} line ${i + 1}`), `${file} line ${i + 1}`));
}

export async function readLabResult(dir: string): Promise<LabResult | null> {
  const file = resultPath(dir);
  const text = await readText(file);
  return text === null ? null : checkedAgainst(resultSchema, parsedJson(text, file), file);
}

/** Every Lab model of a runs folder, oldest first; a damaged folder is listed in `broken` with why. */
export async function listLabModels(runsDir: string): Promise<{ models: LabEntry[]; broken: { dir: string; problem: string }[] }> {
  let names: string[];
  try {
    names = await readdir(labDir(runsDir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { models: [], broken: [] };
    throw new CheckpointError('IO_ERROR', `Cannot list ${labDir(runsDir)}: ${ioCause(err)}.`);
  }
  const models: LabEntry[] = [];
  const broken: { dir: string; problem: string }[] = [];
  for (const id of names.filter(isRunId)) {
    const dir = join(labDir(runsDir), id);
    try {
      models.push({ id, dir, model: await readLabModelJson(dir), result: await readLabResult(dir) });
    } catch (err) {
      // A folder whose model.json is not written yet is one being created, not a damaged one.
      if (!(err instanceof CheckpointError && err.code === 'NO_CHECKPOINT')) broken.push({ dir, problem: (err as Error).message });
    }
  }
  models.sort((a, b) => Date.parse(a.model.created) - Date.parse(b.model.created) || (a.id < b.id ? -1 : 1));
  return { models, broken };
}
