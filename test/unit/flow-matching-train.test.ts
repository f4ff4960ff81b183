// Training flow matching through the trainer's one seam (FlowModel.objective): its noise is a pure
// function of (seed, step), micro-batches and replica threads give the one-pass gradients, a
// 30-step run lowers the loss, a saved model loads back the same, a resumed run repeats the
// uninterrupted one's losses, and on onnx the traced step agrees with tfjs.
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { initBackend } from '../../main/engine/backend.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { trainingNoiseOf, type FlowModel } from '../../main/engine/models/flow-model.ts';
import { exportWeights, loadModel, modelJson } from '../../main/engine/models/model-io.ts';
import { OnnxGradients } from '../../main/engine/onnx/onnx-gradients.ts';
import { loadOrt } from '../../main/engine/onnx/runtime.ts';
import { Rng } from '../../main/engine/random.ts';
import { parallelGradients } from '../../main/engine/runtime/replicas/replica-gradients.ts';
import { trainingNoise } from '../../main/engine/train/batches.ts';
import { batchGradients } from '../../main/engine/train/gradients.ts';
import { resume, train } from '../../main/engine/train/trainer.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';
import { perturb } from '../helpers/perturb.ts';

const SIZE = 8;
const CONFIG = { kind: 'flow-matching', size: SIZE, channels: 1, levels: 1, depth: 1, hidden: 8, solver: 'euler', odeSteps: 2 } as const;
const runsDir = join(tmpdir(), `flowdesk-fm-train-${process.pid}`);
let folder: Awaited<ReturnType<typeof makeImageFolder>>;

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  folder = await makeImageFolder({ count: 64, size: SIZE, channels: 1, pattern: 'stripes' });
});

afterAll(async () => {
  await folder.cleanup();
  await rm(runsDir, { recursive: true, force: true });
});

function images(n: number, seed: number): Float32Array {
  return new Rng(seed).fillUniform(new Float32Array(n * SIZE * SIZE)).map((v) => v - 0.5);
}

/** A model whose velocity field is not zero, so every weight has a gradient. */
function trainedLooking(): FlowModel {
  const model = createModel(CONFIG, 0);
  perturb(model.params, 0.05);
  return model;
}

async function metricRows(runDir: string): Promise<Record<string, unknown>[]> {
  return (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

async function losses(runDir: string): Promise<Map<number, number>> {
  return new Map((await metricRows(runDir)).filter((r) => r.type === 'train').map((r) => [r.step as number, r.loss as number]));
}

describe('flow matching’s training noise', () => {
  it('is x0 ~ N(0, I) per value and t ~ U(0, 1) per image, a pure function of (seed, step)', () => {
    const model = createModel(CONFIG, 0);
    const kinds = trainingNoiseOf(model);
    expect(kinds).toEqual([{ values: SIZE * SIZE, distribution: 'normal' }, { values: 1, distribution: 'uniform' }]);
    const [x0, t] = trainingNoise(kinds, 5, 11, 3);
    expect(x0.length).toBe(5 * SIZE * SIZE);
    expect(t.length).toBe(5);
    expect(t.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(trainingNoise(kinds, 5, 11, 3)).toEqual([x0, t]);
    expect(trainingNoise(kinds, 5, 11, 4)[1]).not.toEqual(t);
    model.dispose();
  });
});

describe('flow matching’s gradients', () => {
  it('are the same in micro-batches and on two replica threads as in one pass', () => {
    const model = trainedLooking();
    const batch = 6;
    const data = images(batch, 1);
    const noise = trainingNoise(trainingNoiseOf(model), batch, 2, 0);
    const full = batchGradients(model, data, batch, 8, batch, batch, noise);
    expect(full.loss).toBeGreaterThan(0);
    for (const split of [batchGradients(model, data, batch, 8, 4, batch, noise), parallelGradients(model, data, batch, 8, batch, 2, noise)]) {
      expect(split.loss).toBeCloseTo(full.loss, 5);
      for (const name of Object.keys(full.grads)) expectClose(split.grads[name], full.grads[name], 1e-5, 1e-3);
      tf.dispose(Object.values(split.grads));
    }
    // The noise matters: another draw gives another loss.
    const other = batchGradients(model, data, batch, 8, batch, batch, trainingNoise(trainingNoiseOf(model), batch, 2, 1));
    expect(Math.abs(other.loss - full.loss)).toBeGreaterThan(1e-4);
    tf.dispose([...Object.values(full.grads), ...Object.values(other.grads)]);
    model.dispose();
  });
});

describe('training flow matching', () => {
  const common = { model: CONFIG, runsDir, cacheDir: null, backend: 'wasm' } as const;

  it('lowers its regression loss in 30 steps, logs it as such, and validates in bits per dim', async () => {
    const result = await train({
      ...common,
      folder: folder.dir,
      name: 'thirty',
      train: { batch: 16, steps: 30, lr: 3e-3, warmup: 5, evalEvery: 30, checkpointEvery: 30, valImages: 8, sampleCount: 4, seed: 1 },
    });
    const rows = await metricRows(result.runDir);
    const train30 = rows.filter((r) => r.type === 'train');
    expect(train30).toHaveLength(30);
    expect(train30.every((r) => r.lossKind === 'velocity-mse')).toBe(true);
    const mean = (rs: Record<string, unknown>[]) => rs.reduce((sum, r) => sum + (r.loss as number), 0) / rs.length;
    expect(mean(train30.slice(-5))).toBeLessThan(0.8 * mean(train30.slice(0, 5)));
    const evals = rows.filter((r) => r.type === 'eval');
    expect(evals.map((r) => r.step)).toEqual([0, 30]);
    for (const r of evals) expect(Number.isFinite(r.valBpd)).toBe(true);
  });

  it('resumes exactly: the steps after resuming have the uninterrupted run’s losses', async () => {
    const settings = { batch: 8, lr: 2e-3, warmup: 3, evalEvery: 100, checkpointEvery: 5, valImages: 4, sampleCount: 4, seed: 3 };
    const straight = await train({ ...common, folder: folder.dir, name: 'straight', train: { ...settings, steps: 10 } });
    const first = await train({ ...common, folder: folder.dir, name: 'interrupted', train: { ...settings, steps: 5 } });
    await resume(first.runDir, { steps: 10, cacheDir: null, backend: 'wasm' });
    const a = await losses(straight.runDir);
    const b = await losses(first.runDir);
    expect(b.size).toBe(10);
    for (const step of [6, 7, 10]) expect(b.get(step)).toBe(a.get(step));
  });
});

describe('a saved flow-matching model', () => {
  it('loads back with the same weights and the same samples', () => {
    const model = trainedLooking();
    const loaded = loadModel(JSON.parse(JSON.stringify(modelJson(model, 8))), exportWeights(model), 'test weights');
    expect(loaded.config).toEqual(model.config);
    const a = model.sample(3, 1, new Rng(4));
    const b = loaded.sample(3, 1, new Rng(4));
    expectClose(b, a, 0);
    tf.dispose([a, b]);
    model.dispose();
    loaded.dispose();
  });
});

const loaded = loadOrt();
const ort = 'ort' in loaded ? loaded.ort : null;

describe.skipIf(!ort)('flow matching on onnxruntime', () => {
  it('traces a training step that gives tfjs’s loss and gradients, its noise fed as inputs', async () => {
    const model = trainedLooking();
    const batch = 3;
    const data = images(batch, 5);
    const noise = trainingNoise(trainingNoiseOf(model), batch, 6, 0);
    const onnx = await OnnxGradients.create(ort!, model, batch, 8, 1);
    try {
      const want = batchGradients(model, data, batch, 8, batch, batch, noise);
      const got = await onnx.gradients(data, noise);
      expect(got.loss).toBeCloseTo(want.loss, 4);
      for (const key of Object.keys(want.grads)) expectClose(got.grads[key], want.grads[key], 1e-4, 1e-3);
      tf.dispose([...Object.values(want.grads), ...Object.values(got.grads)]);
    } finally {
      await onnx.dispose();
      model.dispose();
    }
  });
});
