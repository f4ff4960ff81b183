// The PyTorch package with flows trained for restoration (restoreTask): its Glow and RealNVP score
// images given their observation y as FlowDesk does, and a Glow run trained for upscaling or for
// inpainting continues in one process with FlowDesk's next steps (the encoder trained as FlowDesk
// trains it), then imports back as a run that evaluates to what PyTorch reported. Skipped without a python3 that imports torch; fails under CI=true.
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { encodeSafetensors, type NamedArray } from '../../main/engine/checkpoint/safetensors.ts';
import { importImageFolder, type ImageSet } from '../../main/engine/data/index.ts';
import { exportPytorchPackage, PACKAGE_RUN } from '../../main/engine/export/pytorch-package.ts';
import { importPytorchRun } from '../../main/engine/export/pytorch-import.ts';
import type { ModelConfig } from '../../main/engine/models/config.ts';
import { bitsPerDim } from '../../main/engine/models/flow-model.ts';
import { Rng } from '../../main/engine/random.ts';
import { loadModelFolder } from '../../main/engine/runs/model-folder.ts';
import { readMetrics, type MetricRecord } from '../../main/engine/runs/metrics.ts';
import { readRunJson } from '../../main/engine/runs/run-json.ts';
import { drawValues, mixSeed } from '../../main/engine/train/batches.ts';
import { meanBitsPerDim } from '../../main/engine/train/evaluate.ts';
import { resume, train } from '../../main/engine/train/trainer.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';
import { writePerturbedModelFolder } from '../helpers/perturbed-model-folder.ts';
import { requireTorchInCi, RUN_LIMIT_MS, runTorchPython, torchSkipReason } from '../helpers/torch-reference.ts';

const SOURCES = fileURLToPath(new URL('../../main/engine/export/pytorch/', import.meta.url));
const base = join(tmpdir(), `flowdesk-pytorch-restore-${process.pid}`);
const GLOW = { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 2, hidden: 16 } as const;
const REALNVP = { kind: 'realnvp', size: 8, channels: 1, levels: 2, depth: 1, hidden: 16 } as const;
// Every task on Glow (colour upscaling, so the small values' channel order counts), both kinds of y on RealNVP.
const VARIANTS: ModelConfig[] = [
  { ...GLOW, channels: 3, restoreTask: 'upscale-2' },
  { ...GLOW, restoreTask: 'upscale-4', permutation: 'shuffle', coupling: 'additive' },
  { ...GLOW, restoreTask: 'inpaint', couplingNet: 'actnorm', topPrior: 'channel' },
  { ...REALNVP, channels: 3, restoreTask: 'upscale-2' },
  { ...REALNVP, restoreTask: 'inpaint' },
];
const IMAGES = 3;
const ROUNDING_STRETCH = 64;
const EXPORTED_STEP = 3;
const MORE_STEPS = 2;

requireTorchInCi();

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe.skipIf(torchSkipReason !== '')(`the PyTorch package's restoration models${torchSkipReason ? ` — skipped: ${torchSkipReason}` : ''}`, () => {
  /** FlowDesk's bits per dim of each variant's images given their observations. */
  const ours: number[][] = [];
  let theirs: { bpd: number[] }[];

  beforeAll(async () => {
    const pairs: string[] = [];
    for (const [i, config] of VARIANTS.entries()) {
      const dir = join(base, `model-${i}`);
      // Moved further than the plain flows' 0.05: zero-initialised convolutions would make y count for nothing.
      const { model, x, shape } = await writePerturbedModelFolder(dir, config, i, 0.1, IMAGES);
      try {
        const [kind] = model.scoringNoise!;
        // Upscaling's rounding errors stretched past an 8-bit level (at most 1/512 each), so one misplaced would show in the figure.
        const [drawn] = drawValues([kind], IMAGES, new Rng(21 + i));
        const degradation = kind.distribution === 'uniform' ? drawn.map((v) => ROUNDING_STRETCH * v) : drawn;
        const images: Record<string, NamedArray> = { x: { dtype: 'float32', shape, data: x }, noise: { dtype: 'float32', shape: [IMAGES, kind.values], data: degradation } };
        await writeFile(join(dir, 'images.safetensors'), encodeSafetensors(images));
        pairs.push(dir, join(dir, 'images.safetensors'));
        const [given, empty] = tf.tidy(() => {
          const xs = tf.tensor4d(x, shape);
          const noise = [tf.tensor2d(degradation, [IMAGES, kind.values])];
          return [bitsPerDim(model, xs, 8, undefined, noise).arraySync(), bitsPerDim(model, xs, 8).arraySync()];
        });
        // y changes the figure, so agreeing on it means agreeing on y and its features.
        expect(Math.max(...given.map((b, k) => Math.abs(b - empty[k])))).toBeGreaterThan(1e-3);
        ours.push(given);
      } finally {
        model.dispose();
      }
    }
    theirs = runTorchPython([join(SOURCES, 'evaluate.py'), ...pairs]) as typeof theirs;
  }, RUN_LIMIT_MS);

  it.each(VARIANTS.map((c, i) => [i, c.kind, (c as { restoreTask: string }).restoreTask] as const))('scores images given y as FlowDesk does (variant %i, %s %s)', (i) => {
    expectClose(theirs[i].bpd, ours[i], 1e-4);
  });
});

/**
 * A run of `model` trained EXPORTED_STEP steps in FlowDesk, exported, continued MORE_STEPS steps by
 * train.py in one process, imported back and evaluated in FlowDesk.
 */
function describeContinuation(model: ModelConfig, channels: 1 | 3): void {
  const task = (model as { restoreTask: string }).restoreTask;
  describe.skipIf(torchSkipReason !== '')(`the PyTorch package's continuation of a ${model.kind} trained for ${task}${torchSkipReason ? ` — skipped: ${torchSkipReason}` : ''}`, () => {
    const dir = join(base, `continue-${task}`);
    const runsDir = join(dir, 'runs');
    let folder: Awaited<ReturnType<typeof makeImageFolder>>;
    let valSet: ImageSet;
    let packageDir: string;
    /** FlowDesk's own losses at the steps after the exported one. */
    let nextLosses: number[];

    beforeAll(async () => {
      folder = await makeImageFolder({ count: 40, size: 8, channels, pattern: 'blobs' });
      valSet = (await importImageFolder(folder.dir, { size: 8, channels, cacheDir: null })).val;
      const settings = { batch: 8, lr: 1e-2, warmup: 2, evalEvery: EXPORTED_STEP, checkpointEvery: EXPORTED_STEP, seed: 1, steps: EXPORTED_STEP, valImages: 8, sampleCount: 4, flip: 'auto' } as const;
      const origin = (await train({ model: { ...model, channels }, runsDir, cacheDir: null, folder: folder.dir, name: 'origin', train: settings })).runDir;
      packageDir = join(dir, 'package');
      await exportPytorchPackage(origin, packageDir, runsDir, null);
      await resume(origin, { steps: EXPORTED_STEP + MORE_STEPS, cacheDir: null });
      nextLosses = (await readMetrics(origin)).rows.filter((r) => r.type === 'train' && r.step > EXPORTED_STEP).map((r) => r.loss as number);
    }, RUN_LIMIT_MS);

    afterAll(async () => {
      await folder?.cleanup();
    });

    it('continues the run as FlowDesk does, its degradations drawn as FlowDesk draws them and the encoder trained', async () => {
      const lines = runTorchPython(['train.py', '--steps', String(EXPORTED_STEP + MORE_STEPS), '--cpu', '--threads', '1'], packageDir) as { done?: boolean }[];
      expect(lines.some((l) => l.done)).toBe(true);
      const trained = (await readMetrics(join(packageDir, PACKAGE_RUN))).rows.filter((r) => r.type === 'train' && r.step > EXPORTED_STEP);
      expect(trained.map((r) => r.step)).toEqual(Array.from({ length: MORE_STEPS }, (_, k) => EXPORTED_STEP + 1 + k));
      // The first step's loss checks y and its features; the second's, the update of every weight, the encoder's too.
      expectClose(trained.map((r) => r.loss as number), nextLosses, 1e-4);
    }, RUN_LIMIT_MS);

    it('imports back as a run that evaluates in FlowDesk to what PyTorch reported', async () => {
      const runDir = await importPytorchRun(packageDir, runsDir);
      const run = await readRunJson(runDir);
      const evals = (await readMetrics(runDir)).rows.filter((r): r is MetricRecord & { valBpd: number } => r.type === 'eval' && typeof r.valBpd === 'number');
      const last = evals[evals.length - 1];
      expect(last.step).toBe(EXPORTED_STEP + MORE_STEPS);
      const { model: loaded } = await loadModelFolder(runDir);
      try {
        // As the trainer validates: bits per dim of p(x | y), each image's degradation from the scoring stream.
        const bpd = await meanBitsPerDim(loaded, valSet, { nBits: run.train.nBits, limit: run.train.valImages, seed: mixSeed(run.train.seed, 7) });
        expectClose(bpd, last.valBpd, 1e-4);
      } finally {
        loaded.dispose();
      }
    }, RUN_LIMIT_MS);
  });
}

describeContinuation({ ...GLOW, restoreTask: 'upscale-2' }, 3);
describeContinuation({ ...GLOW, restoreTask: 'inpaint' }, 1);
