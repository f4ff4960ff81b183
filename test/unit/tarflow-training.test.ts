// TarFlow in training and on disk: a short run on wasm lowers validation bits per dim, the noise
// augmentation is a pure function of (seed, step), and a saved model loads with the same log p.
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import type { TarFlowConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { exportWeights, loadModel, modelJson, parseModelJson } from '../../main/engine/models/model-io.ts';
import type { ImageSet } from '../../main/engine/data/index.ts';
import { readRunJson } from '../../main/engine/runs/run-json.ts';
import { trainingBatch } from '../../main/engine/train/batches.ts';
import { train } from '../../main/engine/train/trainer.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';
import { perturb, randomInput } from '../helpers/perturb.ts';

let folder: Awaited<ReturnType<typeof makeImageFolder>>;
const runsDir = join(tmpdir(), `flowdesk-tarflow-train-${process.pid}`);
const MODEL: TarFlowConfig = { kind: 'tarflow', size: 8, channels: 1, patch: 2, depth: 2, hidden: 32, attnLayers: 1, headDim: 16 };

beforeAll(async () => {
  folder = await makeImageFolder({ count: 64, size: 8, channels: 1, pattern: 'stripes' });
});

afterAll(async () => {
  await folder.cleanup();
  await rm(runsDir, { recursive: true, force: true });
});

describe('TarFlow in training', () => {
  it('a 30-step run on wasm lowers validation bits per dim by a clear margin', async () => {
    const result = await train({
      folder: folder.dir,
      model: MODEL,
      train: { batch: 16, steps: 30, lr: 5e-3, warmup: 5, evalEvery: 30, checkpointEvery: 30, seed: 1 },
      runsDir,
      name: 'tarflow-wasm',
      backend: 'wasm',
      cacheDir: null,
    });
    expect(result.step).toBe(30);
    // Stripes are very predictable: a working flow drops well over a bit per dimension.
    expect(result.valBpd!).toBeLessThan(result.initialValBpd! - 1);
    // Unconditional (the stripes come as one set): classes 0, and label dropout at its default.
    expect((await readRunJson(result.runDir)).model).toEqual({ ...MODEL, noise: 0, classes: 0, labelDropout: 0.1 });
  });

  it('noise augmentation adds seeded Gaussian noise of the given standard deviation to the batch', () => {
    const count = 64, size = 8;
    const set: ImageSet = { count, size, channels: 1, pixels: Uint8Array.from({ length: count * size * size }, (_, i) => (i * 37) % 256), paths: [], labels: null, classes: [] };
    const plain = trainingBatch(set, 16, 8, 2, 5);
    const noised = trainingBatch(set, 16, 8, 2, 5, false, 0.1);
    expect(trainingBatch(set, 16, 8, 2, 5, false, 0.1)).toEqual(noised);
    expect(trainingBatch(set, 16, 8, 2, 6, false, 0.1)).not.toEqual(noised);
    const diff = noised.map((v, i) => v - plain[i]);
    const mean = diff.reduce((s, v) => s + v, 0) / diff.length;
    const std = Math.sqrt(diff.reduce((s, v) => s + (v - mean) ** 2, 0) / diff.length);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(std).toBeGreaterThan(0.09);
    expect(std).toBeLessThan(0.11);
  });

  it('saves and loads through model-io with the same log p', async () => {
    await tf.setBackend('cpu');
    const model = createModel({ ...MODEL, noise: 0.05 }, 3);
    perturb(model.params, 0.05);
    const x = randomInput([3, 8, 8, 1], 4, 0.3);
    const json = parseModelJson(JSON.parse(JSON.stringify(modelJson(model, 8))), 'model.json');
    expect(json.config).toEqual({ ...MODEL, noise: 0.05, classes: 0, labelDropout: 0.1 });
    const loaded = loadModel(json, exportWeights(model), 'weights.safetensors');
    const logp = model.logProb(x);
    expect(Math.abs(logp.dataSync()[0] - createModel(MODEL, 3).logProb(x).dataSync()[0])).toBeGreaterThan(1e-3); // the nudge shows
    expectClose(loaded.logProb(x), logp, 1e-5);
  });
});
