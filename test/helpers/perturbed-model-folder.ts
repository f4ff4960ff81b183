// A model folder (model.json + weights.safetensors) of a perturbed, initialised model and seeded
// images for it: what the PyTorch package's scoring tests hand to evaluate.py beside FlowDesk.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeSafetensors } from '../../main/engine/checkpoint/safetensors.ts';
import type { ModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import type { FlowModel } from '../../main/engine/models/flow-model.ts';
import { exportWeights, modelJson } from '../../main/engine/models/model-io.ts';
import { MODEL_JSON, WEIGHTS_FILE } from '../../main/engine/runs/run-layout.ts';
import { Rng } from '../../main/engine/random.ts';
import { perturb } from './perturb.ts';

export interface PerturbedModelFolder {
  /** The model written; the caller disposes of it. */
  model: FlowModel;
  /** `images` seeded uniform images in [-0.5, 0.5], NHWC. */
  x: Float32Array;
  shape: [number, number, number, number];
}

/**
 * Writes `config`'s model into `dir` (made if absent), seeded by `variant` (model 3 + variant,
 * perturbation 11 + variant, images 5 + variant), its parameters moved by N(0, `scale`) so zero-
 * initialised convolutions do not make every coupling the identity, and marked initialised.
 */
export async function writePerturbedModelFolder(dir: string, config: ModelConfig, variant: number, scale: number, images: number): Promise<PerturbedModelFolder> {
  const model = createModel(config, 3 + variant);
  try {
    perturb(model.params, scale, 11 + variant);
    model.initialised = true;
    const shape: [number, number, number, number] = [images, config.size!, config.size!, config.channels!];
    const x = new Rng(5 + variant).fillUniform(new Float32Array(shape.reduce((a, b) => a * b))).map((v) => v - 0.5);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, MODEL_JSON), JSON.stringify(modelJson(model, 8)));
    await writeFile(join(dir, WEIGHTS_FILE), encodeSafetensors(exportWeights(model)));
    return { model, x, shape };
  } catch (err) {
    model.dispose();
    throw err;
  }
}
