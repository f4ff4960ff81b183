// The PyTorch package's model.json (`flowdesk export --pytorch`) carries every model setting, an
// older run's missing ones filled by common/settings/model-fields.ts (their one owner), so its
// Python reads no default of its own: an old TarFlow, flow matching and version-1 Glow export with
// the settings they trained with, and (with torch) score in Python as in FlowDesk; its run.json
// carries every training setting as FlowDesk resumes with them; the Python refuses a model.json
// or run.json lacking a setting by name, and has every model kind.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { readCheckpoint } from '../../main/engine/checkpoint/checkpoint-store.ts';
import { encodeSafetensors } from '../../main/engine/checkpoint/safetensors.ts';
import { exportPytorchPackage, PACKAGE_RUN } from '../../main/engine/export/pytorch-package.ts';
import type { ModelConfig } from '../../main/engine/models/config.ts';
import { bitsPerDim } from '../../main/engine/models/flow-model.ts';
import { loadModel, parseModelJson } from '../../main/engine/models/model-io.ts';
import { Rng } from '../../main/engine/random.ts';
import { readRunJson } from '../../main/engine/runs/run-json.ts';
import { bestDir, MODEL_JSON, WEIGHTS_FILE } from '../../main/engine/runs/run-layout.ts';
import { readStoredTrainConfig } from '../../main/engine/train/train-config.ts';
import { train } from '../../main/engine/train/trainer.ts';
import { byKind, MODEL_KINDS, type Field } from '../../common/settings/field.ts';
import { modelFields } from '../../common/settings/model-fields.ts';
import { trainFields } from '../../common/settings/train-fields.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { writePerturbedModelFolder } from '../helpers/perturbed-model-folder.ts';
import { requireTorchInCi, RUN_LIMIT_MS, runTorchPython, torchSkipReason } from '../helpers/torch-reference.ts';

const SOURCES = fileURLToPath(new URL('../../main/engine/export/pytorch/', import.meta.url));
const base = join(tmpdir(), `flowdesk-pytorch-config-${process.pid}`);
const STEP = 2;

/** A run as an older FlowDesk stored it: its checkpoint's and best weights' model.json lack `missing` (at `version`). */
interface OldRun {
  model: ModelConfig;
  missing: (keyof typeof modelFields)[];
  version: number;
}

const OLD_RUNS: OldRun[] = [
  { model: { kind: 'tarflow', size: 8, channels: 1, patch: 2, depth: 1, hidden: 16, attnLayers: 1, headDim: 8 }, missing: ['noise', 'labelDropout'], version: 2 },
  { model: { kind: 'flow-matching', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8 }, missing: ['labelDropout', 'solver', 'odeSteps', 'tolerance', 'probes'], version: 2 },
  // Version 1 had neither coupling network nor top prior: it meant a bias network and a per-position prior.
  {
    model: { kind: 'glow', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8, couplingNet: 'bias', topPrior: 'position' },
    missing: ['coupling', 'couplingNet', 'topPrior', 'classes', 'classWeight'],
    version: 1,
  },
];

/** What FlowDesk reads a stored config's missing `key` as: the behaviour of then, else today's default. */
function storedValueOf(key: keyof typeof modelFields, kind: ModelConfig['kind']): unknown {
  const field: Field = modelFields[key];
  return field.storedDefault ?? byKind(field.default, kind);
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

/** Rewrites the model.json in `dir` without the settings `old` lacks, at its version. */
async function makeOld(dir: string, old: Omit<OldRun, 'model'>): Promise<void> {
  const path = join(dir, MODEL_JSON);
  const doc = await readJson(path);
  const config = { ...(doc.config as Record<string, unknown>) };
  for (const key of old.missing) {
    expect(config).toHaveProperty(key); // the run had it, so leaving it out means something
    delete config[key];
  }
  await writeFile(path, JSON.stringify({ ...doc, version: old.version, config }));
}

/** Training settings an older FlowDesk's run.json lacks (they came with flipping and averaging). */
const OLD_TRAIN_MISSING = ['flip', 'emaDecay'];

/** Rewrites `runDir`'s run.json without the training settings `missing`, as an older FlowDesk wrote it. */
async function dropTrainSettings(runDir: string, missing: string[]): Promise<void> {
  const path = join(runDir, 'run.json');
  const doc = await readJson(path);
  const trainSection = { ...(doc.train as Record<string, unknown>) };
  for (const key of missing) delete trainSection[key];
  await writeFile(path, JSON.stringify({ ...doc, train: trainSection }));
}

requireTorchInCi();

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe.each(OLD_RUNS.map((old) => [old.model.kind, old] as const))('the PyTorch package of an older %s run', (kind, old) => {
  let images: Awaited<ReturnType<typeof makeImageFolder>>;
  let origin: string;
  let packageRun: string;

  beforeAll(async () => {
    images = await makeImageFolder({ count: 16, size: 8, channels: 1, pattern: 'stripes' });
    const runsDir = join(base, `${kind}-runs`);
    const settings = { batch: 4, steps: STEP, evalEvery: STEP, checkpointEvery: STEP, warmup: 1, seed: 0, valImages: 4 };
    origin = (await train({ model: old.model, runsDir, cacheDir: null, folder: images.dir, name: 'origin', train: settings })).runDir;
    await makeOld(join(origin, 'checkpoints', `step-${STEP}`), old);
    await makeOld(bestDir(origin), old);
    await dropTrainSettings(origin, OLD_TRAIN_MISSING);
    const packageDir = join(base, `${kind}-package`);
    await exportPytorchPackage(origin, packageDir, runsDir, null);
    packageRun = join(packageDir, PACKAGE_RUN);
  }, RUN_LIMIT_MS);

  afterAll(async () => {
    await images?.cleanup();
  });

  it('writes every setting into model.json as the run trained with them, model-fields.ts filling the missing ones', async () => {
    const trained = (await readRunJson(origin)).model;
    for (const dir of [join(packageRun, 'checkpoints', `step-${STEP}`), bestDir(packageRun)]) {
      const doc = await readJson(join(dir, MODEL_JSON));
      expect(doc.version).toBe(2);
      expect(doc.config).toEqual(trained);
      for (const key of old.missing) expect((doc.config as Record<string, unknown>)[key]).toEqual(storedValueOf(key, kind));
    }
  });

  it('writes every training setting into run.json as FlowDesk resumes the run with them', async () => {
    const stored = (await readRunJson(origin)).train;
    for (const key of OLD_TRAIN_MISSING) expect(stored).not.toHaveProperty(key);
    const written = (await readJson(join(packageRun, 'run.json'))).train as Record<string, unknown>;
    expect(written).toEqual(readStoredTrainConfig(stored));
    // A run from before flipping and averaging: it did not flip, and FlowDesk averages from its resume on.
    expect(written).toMatchObject({ flip: 'off', emaDecay: trainFields.emaDecay.default });
  });

  it.skipIf(torchSkipReason !== '')(`scores images in Python as FlowDesk scores the run${torchSkipReason ? ` — skipped: ${torchSkipReason}` : ''}`, async () => {
    const checkpoint = join(packageRun, 'checkpoints', `step-${STEP}`);
    const shape: [number, number, number, number] = [3, 8, 8, 1];
    const x = new Rng(5).fillUniform(new Float32Array(3 * 8 * 8)).map((v) => v - 0.5);
    const imagesFile = join(packageRun, '..', 'images.safetensors');
    await writeFile(imagesFile, encodeSafetensors({ x: { dtype: 'float32', shape, data: x } }));
    const ckpt = await readCheckpoint(join(origin, 'checkpoints', `step-${STEP}`));
    const model = loadModel(parseModelJson(ckpt.model, MODEL_JSON), ckpt.weights, WEIGHTS_FILE);
    try {
      const ours = tf.tidy(() => Array.from(bitsPerDim(model, tf.tensor4d(x, shape), 8).dataSync()));
      const [theirs] = runTorchPython([join(SOURCES, 'evaluate.py'), checkpoint, imagesFile]) as { bpd: number[] }[];
      expectClose(theirs.bpd, ours, 1e-4);
    } finally {
      model.dispose();
    }
  }, RUN_LIMIT_MS);

  it.skipIf(torchSkipReason !== '')(`refuses to train from a run.json that lacks a training setting, naming it${torchSkipReason ? ` — skipped: ${torchSkipReason}` : ''}`, async () => {
    const path = join(packageRun, 'run.json');
    const whole = await readFile(path, 'utf8');
    try {
      await dropTrainSettings(packageRun, ['flip']);
      expect(() => runTorchPython([join(packageRun, '..', 'train.py'), '--steps', String(STEP + 1), '--cpu'])).toThrow(/run\.json: train\.flip is missing.*Export the run again/);
    } finally {
      await writeFile(path, whole);
    }
  }, RUN_LIMIT_MS);
});

describe.skipIf(torchSkipReason !== '')(`the PyTorch package's Python${torchSkipReason ? ` — skipped: ${torchSkipReason}` : ''}`, () => {
  it('scores and checks every model kind FlowDesk has (a new kind fails here until the package has it)', () => {
    const probe = 'import json; from flowdesk_model import CHECKS, FORWARDS; print(json.dumps({"forwards": list(FORWARDS), "checks": list(CHECKS)}))';
    const [kinds] = runTorchPython(['-c', probe], SOURCES) as { forwards: string[]; checks: string[] }[];
    expect([...kinds.forwards].sort()).toEqual([...MODEL_KINDS].sort());
    expect([...kinds.checks].sort()).toEqual([...MODEL_KINDS].sort());
  });

  it('refuses a model.json that lacks a setting, naming it, rather than assuming a default', async () => {
    const dir = join(base, 'lacking');
    const { model } = await writePerturbedModelFolder(dir, { kind: 'flow-matching', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8 }, 0, 0.05, 1);
    model.dispose();
    await makeOld(dir, { missing: ['solver'], version: 2 });
    expect(() => runTorchPython([join(SOURCES, 'evaluate.py'), dir, join(dir, 'unused.safetensors')])).toThrow(/config\.solver is missing.*Export the run again/);
  }, RUN_LIMIT_MS);
});
