// One settings schema reaches every consumer (issue 12): for each declared field, the engine's
// resolution, the Api's validation, the CLI's options and help, and the Train view's inputs agree
// on its default and bounds, and a value just outside a bound is refused by engine, Api and CLI.
// The app's and the CLI's presets are the same models, and a stored run whose settings exceed
// today's bounds still loads.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPinia, setActivePinia } from 'pinia';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { appliesTo, defaultOf, flagOf, MODEL_KINDS, type Field } from '../../common/settings/field.ts';
import { modelFields } from '../../common/settings/model-fields.ts';
import { presetsFor } from '../../common/settings/presets.ts';
import { trainFields, type TrainFields } from '../../common/settings/train-fields.ts';
import { validateRequest } from '../../main/api-validation.ts';
import { modelFromArgs, trainFromArgs, trainOptions, trainUsage } from '../../main/cli/train-command.ts';
import * as tf from '../../main/engine/tf.ts';
import { resolveModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { exportWeights, loadModel, modelJson, parseModelJson } from '../../main/engine/models/model-io.ts';
import { readStoredTrainConfig, resolveTrainConfig, trainSettingsOf, type ResolvedTrainConfig } from '../../main/engine/train/train-config.ts';
import type { Api } from '../../preload/api.ts';
import { modelInputs, trainFieldInput, trainInputs } from '../../renderer/src/settings-inputs.ts';

vi.mock('../../renderer/src/api/index.ts', () => ({ api: {} as Api }));
const { useTrainingStore } = await import('../../renderer/src/stores/training.ts');
const { useDataStore } = await import('../../renderer/src/stores/data.ts');

beforeEach(() => setActivePinia(createPinia()));

/** A value just below the field's lowest and just above its highest allowed value. */
function justOutside(field: Field & { type: 'int' | 'number' }): [number, number] {
  if (field.type === 'int') return [field.min - 1, field.max + 1];
  const nudge = (v: number) => Math.max(Math.abs(v) * 1e-3, 1e-15);
  return [field.min - nudge(field.min), field.max + nudge(field.max)];
}

function refusal(run: () => unknown): { code?: string; message: string } {
  try {
    run();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  return { message: 'accepted' };
}

/** A size every kind accepts at every level count the schema allows. */
const SIZE = 2 ** modelFields.levels.max;

const consumers = {
  engineModel: (model: Record<string, unknown>) => resolveModelConfig(model as never) as Record<string, unknown>,
  apiModel: (model: Record<string, unknown>) => (validateRequest('startTraining', { folder: null, model, train: {} }) as { model: Record<string, unknown> }).model,
  cliModel: (flags: Record<string, string>) => modelFromArgs(flags, false) as Record<string, unknown>,
  engineTrain: (train: Record<string, unknown>) => trainSettingsOf(resolveTrainConfig(train)) as Record<string, unknown>,
  apiTrain: (train: Record<string, unknown>) => (validateRequest('startTraining', { folder: null, model: { kind: 'glow' }, train }) as { train: Record<string, unknown> }).train,
  cliTrain: (flags: Record<string, string>) => trainFromArgs(flags) as Record<string, unknown>,
};

describe('every model field reaches engine, Api, CLI and Train view alike', () => {
  for (const [key, field] of Object.entries(modelFields) as [string, Field][]) {
    for (const kind of MODEL_KINDS.filter((k) => appliesTo(field, k))) {
      it(`${kind} ${key}`, () => {
        const flag = flagOf(key, field);
        const base = key === 'size' ? { kind } : { kind, size: SIZE };
        const flags: Record<string, string> = key === 'size' ? { model: kind } : { model: kind, size: String(SIZE) };
        const expected = defaultOf(field, kind);
        // The same default everywhere, including the app's first settings of this family.
        expect(consumers.engineModel(base)[key]).toBe(expected);
        expect(consumers.apiModel(base)[key]).toBe(expected);
        expect(consumers.cliModel(flags)[key]).toBe(expected);
        const t = useTrainingStore();
        t.applyPreset(kind, 'small');
        if (field.view !== 'data') expect((t.model as Record<string, unknown>)[key]).toBe(expected);
        if (field.view === 'derived') {
          // Set by the engine from the data: no Train view input, no CLI option of its own.
          expect(modelInputs(kind).find((i) => i.key === key)).toBeUndefined();
          expect(trainUsage).not.toContain(field.help);
          expect(refusal(() => consumers.engineModel({ ...base, [key]: field.type === 'choice' ? 'no-such-option' : -1 }))).toMatchObject({ code: 'BAD_CONFIG' });
          return;
        }
        // The CLI has the option and its help states the default.
        expect(trainOptions).toHaveProperty(flag);
        expect(trainUsage).toContain(`--${flag} `);
        if (field.type === 'choice') {
          const bad = typeof field.options[0] === 'number' ? 2 : 'no-such-option';
          expect(refusal(() => consumers.engineModel({ ...base, [key]: bad }))).toMatchObject({ code: 'BAD_CONFIG', message: expect.stringContaining(`${key} must be one of`) });
          expect(refusal(() => consumers.apiModel({ ...base, [key]: bad }))).toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining(`model.${key} must be one of`) });
          expect(refusal(() => consumers.cliModel({ ...flags, [flag]: String(bad) })).message).toContain(`--${flag} must be one of`);
          return;
        }
        for (const value of justOutside(field)) {
          expect(refusal(() => consumers.engineModel({ ...base, [key]: value }))).toMatchObject({ code: 'BAD_CONFIG', message: expect.stringContaining(`${key} must be`) });
          expect(refusal(() => consumers.apiModel({ ...base, [key]: value }))).toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining(`model.${key} must be`) });
          expect(refusal(() => consumers.cliModel({ ...flags, [flag]: String(value) })).message).toContain(`--${flag} must be`);
        }
        expect(trainUsage).toContain(`from ${field.min} to ${field.max}`);
        if (field.view === 'data') return; // chosen in the Data view, not among the Train view's inputs
        const input = modelInputs(kind).find((i) => i.key === key);
        expect(input).toMatchObject({ min: field.min, max: field.max, advanced: field.view === 'advanced' });
      });
    }
  }

  it('offers each field only for the kinds it applies to', () => {
    for (const kind of MODEL_KINDS) {
      const applying = Object.entries(modelFields).filter(([, f]) => appliesTo(f, kind) && (f.view === 'main' || f.view === 'advanced')).map(([k]) => k);
      expect(modelInputs(kind).map((i) => i.key)).toEqual(applying);
      expect(Object.keys(consumers.engineModel({ kind })).sort()).toEqual(['kind', ...Object.entries(modelFields).filter(([, f]) => appliesTo(f, kind)).map(([k]) => k)].sort());
    }
    expect(refusal(() => consumers.cliModel({ model: 'nice', levels: '2' })).message).toMatch(/--levels does not apply to nice models/);
  });
});

describe('every training field reaches engine, Api, CLI and Train view alike', () => {
  for (const [key, field] of Object.entries(trainFields) as [string, Field][]) {
    it(key, () => {
      const flag = flagOf(key, field);
      const expected = defaultOf(field);
      expect(consumers.engineTrain({})[key]).toBe(expected);
      expect(consumers.apiTrain({})[key]).toBe(expected);
      expect(consumers.cliTrain({})[key]).toBe(expected);
      expect((useTrainingStore().train as Record<string, unknown>)[key]).toBe(expected);
      expect(trainOptions).toHaveProperty(flag);
      expect(trainUsage).toContain(`--${flag} `);
      // A 'data' field (classes) is chosen in the Data view, from the same declaration, not among the Train view's inputs.
      expect(trainInputs().some((i) => i.key === key)).toBe(field.view !== 'data');
      const input = field.view === 'data' ? trainFieldInput(key as keyof TrainFields) : trainInputs().find((i) => i.key === key);
      expect(input?.advanced).toBe(field.view === 'advanced');
      if (field.type === 'choice') {
        expect(input?.options?.map((o) => o.value)).toEqual(field.options);
        expect(refusal(() => consumers.engineTrain({ [key]: 'no-such-option' })).message).toContain(`${key} must be one of`);
        expect(refusal(() => consumers.apiTrain({ [key]: 'no-such-option' })).message).toContain(`train.${key} must be one of`);
        expect(refusal(() => consumers.cliTrain({ [flag]: 'no-such-option' })).message).toContain(`--${flag} must be one of`);
        return;
      }
      expect(input).toMatchObject({ min: field.min, max: field.max, nullMeans: field.nullMeans });
      for (const value of justOutside(field)) {
        expect(refusal(() => consumers.engineTrain({ [key]: value }))).toMatchObject({ code: 'BAD_CONFIG', message: expect.stringContaining(`${key} must be`) });
        expect(refusal(() => consumers.apiTrain({ [key]: value }))).toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining(`train.${key} must be`) });
        expect(refusal(() => consumers.cliTrain({ [flag]: String(value) })).message).toContain(`--${flag} must be`);
      }
      // The bounds themselves are accepted by all three.
      for (const value of [field.min, field.max]) {
        expect(consumers.engineTrain({ [key]: value })[key]).toBe(value);
        expect(consumers.apiTrain({ [key]: value })[key]).toBe(value);
        expect(consumers.cliTrain({ [flag]: String(value) })[key]).toBe(value);
      }
    });
  }
});

describe('presets', () => {
  it("the app's and the CLI's presets are the same models, for every family and preset", () => {
    const data = useDataStore();
    data.size = 32;
    data.channels = 3;
    const t = useTrainingStore();
    for (const kind of MODEL_KINDS) {
      for (const preset of presetsFor(kind)) {
        t.applyPreset(kind, preset);
        const app = validateRequest('startTraining', { folder: null, model: t.model, train: t.train }) as { model: unknown };
        expect(app.model, `${kind} ${preset}`).toEqual(modelFromArgs({ model: kind, preset }, false));
      }
    }
  });

  it('offers the ten-minute shapes, spline couplings included, for Glow', () => {
    expect(modelFromArgs({ model: 'glow', preset: 'ten-minutes' }, false)).toMatchObject({ levels: 3, depth: 4, hidden: 128, coupling: 'affine' });
    expect(modelFromArgs({ model: 'glow', preset: 'ten-minutes-spline' }, false)).toMatchObject({ levels: 3, depth: 4, hidden: 48, coupling: 'spline', bins: 4, tailBound: 3 });
    expect(refusal(() => modelFromArgs({ model: 'tarflow', preset: 'ten-minutes-spline' }, false)).message).toMatch(/--preset must be one of small, ten-minutes, medium, large/);
  });

  it("keeps the Glow paper's shape as its own preset, for Glow only", () => {
    expect(modelFromArgs({ model: 'glow', preset: 'glow-paper' }, false)).toMatchObject({ levels: 3, depth: 32, hidden: 512 });
    expect(refusal(() => modelFromArgs({ model: 'nice', preset: 'glow-paper' }, false)).message).toMatch(/--preset must be one of small, medium, large/);
  });

  it('lists every backend, onnx included, in the help of --backend', () => {
    expect(trainUsage).toMatch(/--backend node-gpu\|webgpu\|node\|onnx\|wasm\|cpu/);
  });
});

describe('stored settings are read with the bounds they were written under', () => {
  const root = mkdtemp(join(tmpdir(), 'flowdesk-settings-'));
  afterAll(async () => rm(await root, { recursive: true, force: true }));

  it("loads a run whose hidden width and sample count exceed today's maximums, which new settings may not", async () => {
    await tf.setBackend('cpu');
    const config = { kind: 'nice', size: 4, channels: 1, depth: 1, hidden: modelFields.hidden.max + 4, mlpLayers: 1 } as const;
    expect(refusal(() => resolveModelConfig(config)).message).toMatch(/hidden must be a whole number from 1 to 4096/);
    // Written as an earlier version could have written it (its bounds were wider).
    const model = createModel(config, 0);
    const weights = exportWeights(model);
    const train = { ...resolveTrainConfig(), sampleCount: trainFields.sampleCount.max + 1 } as ResolvedTrainConfig;
    const dir = await root;
    await writeFile(join(dir, 'run.json'), JSON.stringify({ model: model.config, train }));
    await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson(model, 8)));
    model.dispose();
    const run = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8'));
    expect(readStoredTrainConfig(run.train, { steps: 5 })).toEqual({ ...train, steps: 5 });
    expect(refusal(() => resolveTrainConfig({ sampleCount: train.sampleCount })).message).toMatch(/sampleCount must be a whole number from 1 to 256/);
    const loaded = loadModel(parseModelJson(JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')), 'model.json'), weights, 'weights.safetensors');
    expect(loaded.config).toEqual(config);
    loaded.dispose();
  });

  it('still refuses a stored config of an impossible shape', () => {
    const model = createModel({ kind: 'glow', size: 4, channels: 1, levels: 1, depth: 1, hidden: 4 });
    const json = modelJson(model, 8);
    model.dispose();
    expect(refusal(() => parseModelJson({ ...json, config: { kind: 'glow', size: 12, levels: 3 } }, 'model.json')).message).toMatch(
      /model.json: bad "config": size 12 must be divisible by 2\^levels = 8/,
    );
  });
});
