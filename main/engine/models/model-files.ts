// Loads a model for inference from a folder holding model.json and weights.safetensors: a run's
// checkpoint or an exported model. Training state (optimizer, RNG) is not needed here.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeSafetensors } from '../checkpoint/safetensors.ts';
import { CheckpointError, jsonErrorPosition } from '../errors.ts';
import { openedInsideRoots } from '../fs/real-paths.ts';
import type { FlowModel } from './flow-model.ts';
import { loadModel, parseModelJson, type ModelJson } from './model-io.ts';

/**
 * A model file's bytes. With `roots` (the app's allowed folders) the opened file must really lie
 * inside them, so a model.json that links elsewhere is refused before a byte of it is read.
 */
export async function readModelFile(path: string, roots?: readonly string[]): Promise<Buffer> {
  try {
    const handle = await open(path, 'r');
    try {
      if (roots && !(await openedInsideRoots(handle, path, roots))) {
        throw new CheckpointError('BAD_CHECKPOINT', `${path} leads outside the folders FlowDesk may read; copy the model into them.`);
      }
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'is missing' : `cannot be read (${code ?? (err as Error).message})`;
    throw new CheckpointError('BAD_CHECKPOINT', `${path} ${why}.`);
  }
}

export async function loadModelDir(dir: string, roots?: readonly string[]): Promise<{ model: FlowModel; json: ModelJson }> {
  const jsonPath = join(dir, 'model.json');
  const weightsPath = join(dir, 'weights.safetensors');
  let parsed: unknown;
  try {
    parsed = JSON.parse((await readModelFile(jsonPath, roots)).toString('utf8'));
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError('BAD_CHECKPOINT', `${jsonPath} is not valid JSON${jsonErrorPosition(err)}; export the model again.`);
  }
  const json = parseModelJson(parsed, jsonPath);
  const { tensors } = decodeSafetensors(new Uint8Array(await readModelFile(weightsPath, roots)), weightsPath);
  return { model: loadModel(json, tensors, weightsPath), json };
}
