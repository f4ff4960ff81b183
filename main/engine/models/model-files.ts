// Loads a model for inference from a folder holding model.json and weights.safetensors: a run's
// checkpoint or an exported model. Training state (optimizer, RNG) is not needed here.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeSafetensors } from '../checkpoint/safetensors.ts';
import { CheckpointError } from '../errors.ts';
import type { FlowModel } from './flow-model.ts';
import { loadModel, parseModelJson, type ModelJson } from './model-io.ts';

async function readOrExplain(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'is missing' : `cannot be read (${code ?? (err as Error).message})`;
    throw new CheckpointError('BAD_CHECKPOINT', `${path} ${why}.`);
  }
}

export async function loadModelDir(dir: string): Promise<{ model: FlowModel; json: ModelJson }> {
  const jsonPath = join(dir, 'model.json');
  const weightsPath = join(dir, 'weights.safetensors');
  let parsed: unknown;
  try {
    parsed = JSON.parse((await readOrExplain(jsonPath)).toString('utf8'));
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError('BAD_CHECKPOINT', `${jsonPath} is not valid JSON: ${(err as Error).message}`);
  }
  const json = parseModelJson(parsed, jsonPath);
  const { tensors } = decodeSafetensors(new Uint8Array(await readOrExplain(weightsPath)), weightsPath);
  return { model: loadModel(json, tensors, weightsPath), json };
}
