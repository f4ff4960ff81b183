// Lab models on disk: a saved model loads back to the same density; the folder is locked before
// anything is written; a damaged model.json names its field; the listing skips folders being created.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { ParamStore } from '../../main/engine/flows/params.ts';
import { Rng } from '../../main/engine/random.ts';
import {
  createLabFolder, labDir, listLabModels, loadLabWeights, lockLabFolder, readLabCurve, readLabModelJson, readLabResult,
  saveLabCurve, saveLabModel, saveLabResult, type LabModelJson,
} from '../../main/engine/lab/lab-store.ts';
import { LAB_MODEL_FORMAT } from '../../common/lab/lab-catalog.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { gaussianModel } from '../helpers/lab-gaussian.ts';
import { labSettings } from '../helpers/lab-settings.ts';

const json = (step: number): LabModelJson => ({
  format: LAB_MODEL_FORMAT, version: 1, flow: 'realnvp', dim: 2, settings: labSettings(),
  target: { kind: 'samples', name: 'checkerboard' }, created: new Date().toISOString(), step,
});

describe('Lab store', () => {
  it('saves and loads a model, its curve and its result', async () => {
    const runs = await mkdtemp(join(tmpdir(), 'lab-store-'));
    const { dir, lock } = await createLabFolder(runs, 'first');
    const store = new ParamStore();
    const model = gaussianModel(store);
    store.variables.get('g.mu')!.assign(tf.tensor1d([0.5, -1]));
    await saveLabModel(dir, json(12), store);
    await saveLabCurve(dir, [{ step: 1, loss: 3.2, elapsed: 0.1 }, { step: 2, loss: NaN, elapsed: 0.2 }]);
    await saveLabResult(dir, { testNll: 2.9, klToTruth: 0.1, klSe: 0.01, ess: null, seconds: 1, msPerStep: 2, sampleMs: 3, densityMs: 4 });
    await lock.release();

    const again = new ParamStore();
    const reloaded = gaussianModel(again);
    await loadLabWeights(dir, again);
    const x = tf.tensor2d([[0, 0], [1, 2]]);
    const ctx = { mode: 'eval' as const, rng: new Rng(0) };
    expectClose(reloaded.logProb(x, ctx), model.logProb(x, ctx), 1e-6);
    expect((await readLabModelJson(dir)).step).toBe(12);
    expect((await readLabCurve(dir)).map((p) => p.loss)).toEqual([3.2, NaN]);
    expect((await readLabResult(dir))?.klToTruth).toBe(0.1);
    const listing = await listLabModels(runs);
    expect(listing.models.map((m) => m.id)).toEqual(['first']);
    model.dispose();
    reloaded.dispose();
  });

  it('refuses a taken name, a second lock, and names the damaged field', async () => {
    const runs = await mkdtemp(join(tmpdir(), 'lab-store-'));
    const { dir, lock } = await createLabFolder(runs, 'm');
    await expect(createLabFolder(runs, 'm')).rejects.toThrow(/exists already/);
    // Being created (locked, no model.json yet): not listed, not broken.
    expect(await listLabModels(runs)).toEqual({ models: [], broken: [] });
    const store = new ParamStore();
    gaussianModel(store);
    await saveLabModel(dir, json(0), store);
    await expect(lockLabFolder(runs, 'm')).rejects.toMatchObject({ code: 'RUN_LOCKED' });
    await lock.release();

    const file = join(dir, 'model.json');
    const text = JSON.parse(await readFile(file, 'utf8'));
    text.settings.hidden = -3;
    await writeFile(file, JSON.stringify(text));
    await expect(readLabModelJson(dir)).rejects.toThrow(/model\.json: "settings\.hidden" is wrong/);
    expect((await listLabModels(runs)).broken).toHaveLength(1);
    await expect(lockLabFolder(runs, '../x')).rejects.toThrow(/not a Lab model id/);
    expect(labDir(runs)).toBe(join(runs, 'lab'));
    store.dispose();
  });
});
