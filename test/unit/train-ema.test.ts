// Averaged and best weights through training (issue 13.2): a resumed run continues the moving
// average exactly; validation and sample grids use it; the best-validation weights are kept
// beside the last without taking a kept checkpoint's place; a spent time budget ends on the
// averaged model; old runs without an average load and resume; export and the CLI say which
// weights they use.
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { describeWeights } from '../../common/weights.ts';
import { readCheckpoint } from '../../main/engine/checkpoint/checkpoint-store.ts';
import { decodeSafetensors, encodeSafetensors, type NamedArray } from '../../main/engine/checkpoint/safetensors.ts';
import { encodeImageGrid, importImageFolder, toPixels, type ImageSet } from '../../main/engine/data/index.ts';
import { loadModel, parseModelJson } from '../../main/engine/models/model-io.ts';
import { Rng } from '../../main/engine/random.ts';
import { exportModel, importModel } from '../../main/engine/runs/model-export.ts';
import { loadModelFolder } from '../../main/engine/runs/model-folder.ts';
import { readMetrics } from '../../main/engine/runs/metrics.ts';
import { runtimeFor } from '../../main/engine/runtime/runtime-for.ts';
import { mixSeed } from '../../main/engine/train/batches.ts';
import { meanBitsPerDim } from '../../main/engine/train/evaluate.ts';
import { resume, train } from '../../main/engine/train/trainer.ts';
import { evalCommand } from '../../main/cli/eval-command.ts';
import { sampleCommand } from '../../main/cli/sample-command.ts';
import { UsageError } from '../../main/cli/options.ts';
import { checkCheckpoints } from '../helpers/run-checks.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

let folder: Awaited<ReturnType<typeof makeImageFolder>>;
let valSet: ImageSet;
const runsDir = join(tmpdir(), `flowdesk-train-ema-${process.pid}`);
const model = { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 2, hidden: 16 } as const;
const common = { model, runsDir, cacheDir: null } as const;
// Seed 0 and 8 bits: what checkCheckpoints evaluates with.
const settings = { batch: 8, lr: 2e-3, warmup: 5, evalEvery: 5, checkpointEvery: 10, seed: 0 };
let straight: string;

beforeAll(async () => {
  folder = await makeImageFolder({ count: 120, size: 8, channels: 1, pattern: 'stripes' });
  valSet = (await importImageFolder(folder.dir, { size: 8, channels: 1, cacheDir: null })).val;
  straight = (await train({ ...common, folder: folder.dir, name: 'straight', train: { ...settings, steps: 20 } })).runDir;
});

afterAll(async () => {
  await folder.cleanup();
  await rm(runsDir, { recursive: true, force: true });
});

function sameTensors(a: Record<string, NamedArray>, b: Record<string, NamedArray>): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const name of Object.keys(a)) expect(Array.from(a[name].data), name).toEqual(Array.from(b[name].data));
}

async function evalRows(runDir: string) {
  return (await readMetrics(runDir)).rows.filter((r) => r.type === 'eval');
}

describe('averaged weights in training', () => {
  it('continues the average exactly when a run resumes', async () => {
    const first = await train({ ...common, folder: folder.dir, name: 'interrupted', train: { ...settings, steps: 10 } });
    await resume(first.runDir, { steps: 20, cacheDir: null });
    const a = await readCheckpoint(join(straight, 'checkpoints', 'step-20'));
    const b = await readCheckpoint(join(first.runDir, 'checkpoints', 'step-20'));
    expect(b.ema!.meta).toMatchObject({ weights: 'avg', step: '20', decay: '0.999', updates: '20' });
    sameTensors(b.ema!.tensors, a.ema!.tensors);
    expect(await readFile(join(first.runDir, 'checkpoints', 'best', 'weights.safetensors'))).toEqual(await readFile(join(straight, 'checkpoints', 'best', 'weights.safetensors')));
  });

  it('validates and draws the sample grids with the averaged weights', async () => {
    // Every checkpoint's ema.safetensors gives the bits per dim logged at its step...
    expect(await checkCheckpoints(straight, valSet)).toEqual([0, 10, 20]);
    expect((await evalRows(straight)).every((r) => r.weights === 'avg')).toBe(true);
    const ckpt = await readCheckpoint(join(straight, 'checkpoints', 'step-10'));
    const json = parseModelJson(ckpt.model, 'model.json');
    const averaged = loadModel(json, ckpt.ema!.tensors, 'ema');
    const last = loadModel(json, ckpt.weights, 'weights');
    try {
      // ...and the last weights do not: the average is really what was measured.
      const logged = (await evalRows(straight)).find((r) => r.step === 10)!.valBpd!;
      const lastBpd = await meanBitsPerDim(last, valSet, { nBits: 8, limit: 500, seed: mixSeed(0, 7) });
      expect(Math.abs(lastBpd - logged)).toBeGreaterThan(1e-3);
      const grid = async (m: typeof averaged) => encodeImageGrid(toPixels(await runtimeFor(m).sample(36, 0.7, new Rng(mixSeed(0, 3))), 8), 36, 8, 1);
      const saved = await readFile(join(straight, 'samples', 'step-10.png'));
      expect((await grid(averaged)).equals(saved)).toBe(true);
      expect((await grid(last)).equals(saved)).toBe(false);
    } finally {
      averaged.dispose();
      last.dispose();
    }
  });

  it('keeps the best weights beside the last, outside the kept checkpoints, and loads them', async () => {
    // keepCheckpoints is 3: best/ takes none of their places.
    expect((await readdir(join(straight, 'checkpoints'))).sort()).toEqual(['best', 'step-0', 'step-10', 'step-20']);
    const rows = await evalRows(straight);
    const best = rows.reduce((b, r) => (r.valBpd! < b.valBpd! ? r : b));
    const { model: loaded, weights } = await loadModelFolder(straight, { weights: 'best' });
    try {
      expect(weights).toEqual({ requested: 'best', used: 'best', step: best.step, decay: 0.999, valBpd: best.valBpd });
      expect(describeWeights(weights)).toBe(`best (validation ${best.valBpd!.toFixed(4)} bits/dim, averaged with decay 0.999) from step ${best.step}`);
      expect(await meanBitsPerDim(loaded, valSet, { nBits: 8, limit: 500, seed: mixSeed(0, 7) })).toBeCloseTo(best.valBpd!, 5);
    } finally {
      loaded.dispose();
    }
    expect((await readCheckpoint(join(straight, 'checkpoints', 'step-20'))).state.bestValBpd).toBe(best.valBpd);
  });

  it('loads the averaged weights by default and the last ones on request', async () => {
    const avg = await loadModelFolder(straight);
    const last = await loadModelFolder(straight, { weights: 'last' });
    avg.model.dispose();
    last.model.dispose();
    expect(avg.weights).toEqual({ requested: 'avg', used: 'avg', step: 20, decay: 0.999, valBpd: null });
    expect(describeWeights(avg.weights)).toBe('averaged (decay 0.999) from step 20');
    expect(describeWeights(last.weights)).toBe('last from step 20');
    await expect(loadModelFolder(join(straight, 'checkpoints', 'step-10'), { weights: 'best' })).rejects.toMatchObject({ code: 'NO_CHECKPOINT', message: expect.stringContaining('the best weights are kept per run') });
  });

  it('ends a spent time budget on the averaged model, evaluated', async () => {
    const r = await train({ ...common, folder: folder.dir, name: 'timed', train: { ...settings, steps: 1_000_000, minutes: 0.25, evalEvery: 1_000_000, checkpointEvery: 1_000_000 } });
    expect(r.reason).toBe('time');
    expect(r.step).toBeGreaterThan(0);
    const lastEval = (await evalRows(r.runDir)).at(-1)!;
    expect(lastEval).toMatchObject({ step: r.step, valBpd: r.valBpd, weights: 'avg' });
    const { model: loaded, weights } = await loadModelFolder(r.runDir);
    loaded.dispose();
    expect(weights).toMatchObject({ used: 'avg', step: r.step });
  });

  it('turns averaging off at decay 0: no average is written and the last weights are used', async () => {
    const r = await train({ ...common, folder: folder.dir, name: 'off', train: { ...settings, steps: 5, emaDecay: 0 } });
    expect(await readdir(join(r.runDir, 'checkpoints', 'step-5'))).not.toContain('ema.safetensors');
    expect((await evalRows(r.runDir)).map((e) => e.weights)).toEqual(['last', 'last']);
    const { model: loaded, weights } = await loadModelFolder(r.runDir);
    loaded.dispose();
    expect(weights).toMatchObject({ requested: 'avg', used: 'last', step: 5 });
    expect(describeWeights(weights)).toContain('no averaged weights here');
    expect((await loadModelFolder(r.runDir, { weights: 'best' })).weights).toMatchObject({ used: 'best', decay: null });
  });

  it('loads and resumes a run written before averaging (no ema file, no best, no emaDecay)', async () => {
    const old = join(runsDir, 'old');
    await cp(join(runsDir, 'interrupted'), old, { recursive: true });
    await rm(join(old, 'checkpoints', 'step-20'), { recursive: true });
    await rm(join(old, 'checkpoints', 'best'), { recursive: true });
    const runJson = JSON.parse(await readFile(join(old, 'run.json'), 'utf8'));
    delete runJson.train.emaDecay;
    await writeFile(join(old, 'run.json'), JSON.stringify(runJson));
    for (const step of [0, 10]) {
      const dir = join(old, 'checkpoints', `step-${step}`);
      await rm(join(dir, 'ema.safetensors'));
      const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
      delete state.bestValBpd;
      await writeFile(join(dir, 'state.json'), JSON.stringify(state));
      const weightsPath = join(dir, 'weights.safetensors');
      await writeFile(weightsPath, encodeSafetensors(decodeSafetensors(new Uint8Array(await readFile(weightsPath))).tensors)); // no metadata
    }
    const before = await loadModelFolder(old);
    before.model.dispose();
    expect(before.weights).toEqual({ requested: 'avg', used: 'last', step: 10, decay: null, valBpd: null });
    await expect(loadModelFolder(old, { weights: 'best' })).rejects.toMatchObject({ code: 'NO_CHECKPOINT', message: expect.stringContaining('has no best weights') });
    const r = await resume(old, { steps: 20, cacheDir: null });
    expect(r.step).toBe(20);
    const ckpt = await readCheckpoint(join(old, 'checkpoints', 'step-20'));
    // The average started from the resumed weights: 10 updates since.
    expect(ckpt.ema!.meta).toMatchObject({ weights: 'avg', updates: '10', decay: '0.999' });
    expect((await readdir(join(old, 'checkpoints'))).sort()).toEqual(['best', 'step-0', 'step-10', 'step-20']);
  });

  it('exports the chosen weights as the one weights.safetensors, saying which; an import keeps the note', async () => {
    const out = (name: string) => join(tmpdir(), `flowdesk-ema-export-${process.pid}-${name}`);
    const ckpt = await readCheckpoint(join(straight, 'checkpoints', 'step-20'));
    const cases = [
      ['avg', ckpt.ema!.tensors, { weights: 'avg', step: '20', decay: '0.999' }],
      ['last', ckpt.weights, { weights: 'last', step: '20' }],
    ] as const;
    try {
      for (const [choice, tensors, meta] of cases) {
        const { files, weights } = await exportModel(straight, out(choice), runsDir, choice);
        expect(files.map((f) => f.slice(out(choice).length + 1))).toEqual(['model.json', 'weights.safetensors']);
        expect(weights.used).toBe(choice);
        const written = decodeSafetensors(new Uint8Array(await readFile(join(out(choice), 'weights.safetensors'))));
        expect(written.metadata).toEqual(meta);
        sameTensors(written.tensors, tensors);
      }
      const best = await exportModel(straight, out('best'), runsDir, 'best');
      expect(best.weights.used).toBe('best');
      const imported = await importModel(out('avg'), runsDir, 'imported-avg');
      const back = await loadModelFolder(imported);
      back.model.dispose();
      expect(describeWeights(back.weights)).toBe('averaged (decay 0.999) from step 20');
    } finally {
      for (const name of ['avg', 'last', 'best']) await rm(out(name), { recursive: true, force: true });
    }
  });

  it('flowdesk sample and eval say which weights they use and take --weights', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const lines: string[] = [];
    const grid = join(tmpdir(), `flowdesk-ema-grid-${process.pid}.png`);
    try {
      expect(await sampleCommand([straight, '--n', '4', '-o', grid], (l) => lines.push(l))).toBe(0);
      expect(stderr.mock.calls.map((c) => String(c[0]))).toContain('weights: averaged (decay 0.999) from step 20\n');
      expect(await evalCommand([straight, folder.dir, '--json', '--limit', '8', '--weights', 'last'], (l) => lines.push(l))).toBe(0);
      expect(JSON.parse(lines.at(-1)!).weights).toMatchObject({ used: 'last', step: 20 });
      expect(stderr.mock.calls.map((c) => String(c[0]))).toContain('weights: last from step 20\n');
      await expect(sampleCommand([straight, '--weights', 'newest', '-o', grid], (l) => lines.push(l))).rejects.toThrow(UsageError);
    } finally {
      stderr.mockRestore();
      await rm(grid, { force: true });
    }
  });
});
