// The PyTorch package (`flowdesk export --pytorch`, main/engine/export/): its Glow, RealNVP, NICE,
// TarFlow and flow matching score images as FlowDesk does, layer (or block) by layer where there are
// layers, and flow matching's velocity field is FlowDesk's; torchrun with two gloo processes (one
// plain process for flow matching) continues a run (colour, mirrored, class-conditional: a Glow, a
// TarFlow with noise augmentation and label dropout, a flow matching with label dropout) from the
// exported state with FlowDesk's next step; the result imports back as a run that evaluates to what
// PyTorch reported and resumes in FlowDesk.
// Skipped without a python3 that imports torch; fails under CI=true.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { encodeSafetensors } from '../../main/engine/checkpoint/safetensors.ts';
import { importImageFolder, type ImageSet } from '../../main/engine/data/index.ts';
import { exportPytorchPackage, PACKAGE_RUN } from '../../main/engine/export/pytorch-package.ts';
import { importPytorchRun } from '../../main/engine/export/pytorch-import.ts';
import type { FlowLayer } from '../../main/engine/flows/flow-layer.ts';
import { squeeze } from '../../main/engine/flows/squeeze.ts';
import type { FlowBlock } from '../../main/engine/flows/tarflow/flow-block.ts';
import { patchify } from '../../main/engine/flows/tarflow/patches.ts';
import type { ModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { bitsPerDim } from '../../main/engine/models/flow-model.ts';
import type { Level } from '../../main/engine/models/multiscale-flow.ts';
import { exportWeights, modelJson } from '../../main/engine/models/model-io.ts';
import { Rng } from '../../main/engine/random.ts';
import { loadModelFolder } from '../../main/engine/runs/model-folder.ts';
import { readMetrics, type MetricRecord } from '../../main/engine/runs/metrics.ts';
import { readRunJson } from '../../main/engine/runs/run-json.ts';
import { MODEL_JSON, WEIGHTS_FILE } from '../../main/engine/runs/run-layout.ts';
import { mixSeed } from '../../main/engine/train/batches.ts';
import { classMetrics, classScoresOfSet } from '../../main/engine/train/class-evaluate.ts';
import { resume, train } from '../../main/engine/train/trainer.ts';
import { exportCommand } from '../../main/cli/model-commands.ts';
import { UsageError } from '../../main/cli/options.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';
import { perturb } from '../helpers/perturb.ts';
import { writePerturbedModelFolder } from '../helpers/perturbed-model-folder.ts';
import { requireTorchInCi, RUN_LIMIT_MS, runTorchPython, torchSkipReason } from '../helpers/torch-reference.ts';

const SOURCES = fileURLToPath(new URL('../../main/engine/export/pytorch/', import.meta.url));
const base = join(tmpdir(), `flowdesk-pytorch-export-${process.pid}`);
const TINY = { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 2, hidden: 16 } as const;
const TINY_TARFLOW = { kind: 'tarflow', size: 8, channels: 3, patch: 2, depth: 2, hidden: 16, attnLayers: 1, headDim: 8 } as const;
const TINY_FLOW_MATCHING = { kind: 'flow-matching', size: 8, channels: 3, levels: 2, depth: 1, hidden: 8, odeSteps: 2 } as const;
// Glow with every permutation, coupling, coupling network and top prior; RealNVP with every coupling; NICE;
// TarFlow with two heads, and with two layers of one head; flow matching (RK4, FlowDesk's seeded probes).
const VARIANTS: ModelConfig[] = [
  { ...TINY, channels: 3, permutation: 'invconv', coupling: 'affine', couplingNet: 'actnorm', topPrior: 'channel' },
  { ...TINY, permutation: 'shuffle', coupling: 'additive', couplingNet: 'bias', topPrior: 'position' },
  { ...TINY, levels: 3, permutation: 'reverse', coupling: 'affine', couplingNet: 'bias', topPrior: 'channel' },
  { ...TINY, permutation: 'invconv', coupling: 'spline', bins: 4, tailBound: 1, couplingNet: 'actnorm', topPrior: 'channel' },
  { kind: 'realnvp', size: 8, channels: 3, levels: 2, depth: 2, hidden: 16, coupling: 'affine' },
  { kind: 'realnvp', size: 8, channels: 1, levels: 2, depth: 1, hidden: 16, coupling: 'spline', bins: 4, tailBound: 1 },
  { kind: 'realnvp', size: 8, channels: 1, levels: 2, depth: 2, hidden: 16, coupling: 'additive' },
  { kind: 'nice', size: 8, channels: 1, depth: 4, hidden: 16 },
  TINY_TARFLOW,
  { ...TINY_TARFLOW, channels: 1, attnLayers: 2, headDim: 16 },
  TINY_FLOW_MATCHING,
];
const EXPORTED_STEP = 4;
const MORE_STEPS = 20;

requireTorchInCi();

describe('flowdesk export --pytorch', () => {
  it('refuses --weights: the package continues from the newest checkpoint, with every weight kind', async () => {
    await expect(exportCommand(['some-run', '--pytorch', '--weights', 'last', '-o', join(base, 'unused')], () => undefined)).rejects.toThrow(UsageError);
  });
});

/** FlowDesk's log-determinant of every layer of a multiscale flow (Glow, RealNVP), per image, in forward order. */
function layerLogDets(model: ReturnType<typeof createModel>, x: tf.Tensor4D): number[][] {
  const levels = (model as unknown as { levels: Level[] }).levels;
  return tf.tidy(() => {
    const out: number[][] = [];
    let h = x;
    const run = (layers: FlowLayer[]) => {
      for (const layer of layers) {
        const [y, ld] = layer.forward(h, tf.zeros([x.shape[0]]) as tf.Tensor1D);
        out.push(Array.from(ld.dataSync()));
        h = y;
      }
    };
    for (const level of levels) {
      run(level.pre);
      if (level.squeeze) h = squeeze(h);
      run(level.post);
      if (level.split) h = tf.slice(h, [0, 0, 0, 0], [-1, -1, -1, h.shape[3] / 2]);
    }
    return out;
  });
}

/** FlowDesk's log-determinant of every TarFlow block, per image, in forward order. */
function blockLogDets(model: ReturnType<typeof createModel>, x: tf.Tensor4D, patch: number): number[][] {
  const blocks = (model as unknown as { blocks: FlowBlock[] }).blocks;
  return tf.tidy(() => {
    let h = patchify(x, patch);
    return blocks.map((block) => {
      const { z, logdet } = block.forward(h);
      h = z;
      return Array.from(logdet.dataSync());
    });
  });
}

/** What FlowDesk computes for one variant's images: bits per dim, and every layer's log-det (null for NICE). */
interface Ours {
  bpd: number[];
  layers: number[][] | null;
}

describe.skipIf(torchSkipReason !== '')(`the PyTorch package's models${torchSkipReason ? ` — skipped: ${torchSkipReason}` : ''}`, () => {
  const ours: Ours[] = [];
  let theirs: { bpd: number[]; layers: [string, number[]][] }[];

  beforeAll(async () => {
    const pairs: string[] = [];
    for (const [i, config] of VARIANTS.entries()) {
      const dir = join(base, `model-${i}`);
      const { model, x, shape } = await writePerturbedModelFolder(dir, config, i, 0.05, 3);
      try {
        await writeFile(join(dir, 'images.safetensors'), encodeSafetensors({ x: { dtype: 'float32', shape, data: x } }));
        pairs.push(dir, join(dir, 'images.safetensors'));
        const xs = tf.tensor4d(x, shape);
        // NICE's layers are additive couplings and one scaling, and flow matching has none: their bits per dim say it all.
        const layers = config.kind === 'nice' || config.kind === 'flow-matching' ? null : config.kind === 'tarflow' ? blockLogDets(model, xs, config.patch!) : layerLogDets(model, xs);
        ours.push({ bpd: tf.tidy(() => Array.from(bitsPerDim(model, xs, 8).dataSync())), layers });
        xs.dispose();
      } finally {
        model.dispose();
      }
    }
    // One python for every variant: starting torch takes seconds.
    theirs = runTorchPython([join(SOURCES, 'evaluate.py'), ...pairs, '--layers']) as typeof theirs;
  }, RUN_LIMIT_MS);

  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it.each(VARIANTS.map((c, i) => [i, c.kind] as const))('scores images as FlowDesk does, layer by layer (variant %i, %s)', (i) => {
    const { bpd, layers } = ours[i];
    expectClose(theirs[i].bpd, bpd, 1e-4);
    if (!layers) return;
    expect(theirs[i].layers).toHaveLength(layers.length);
    // Some layer really transforms (a log-det away from zero), so agreement is not a triviality.
    expect(Math.max(...layers.flat().map(Math.abs))).toBeGreaterThan(0.1);
    theirs[i].layers.forEach(([, ld], k) => expectClose(ld, layers[k], 1e-3, 1e-5));
  });
});

/** What the package's flow matching gives on `dir`'s inputs (velocity.safetensors): v(y, t, c), and bits per dim given c with the probes in `noise`. */
const FLOW_MATCHING_PROBE = `
import json, sys, torch
from flowdesk_fm import velocity
from flowdesk_model import bits_per_dim, load_tensors, log_prob, read_model_json
from flowdesk_safetensors import read_safetensors
cfg, n_bits, _ = read_model_json(sys.argv[1] + "/model.json")
P, _ = load_tensors(sys.argv[1] + "/weights.safetensors", "cpu")
a = {k: torch.from_numpy(v) for k, v in read_safetensors(sys.argv[1] + "/velocity.safetensors")[0].items()}
with torch.no_grad():
    v = velocity(P, cfg, a["y"], a["t"], a["c"])
    bpd = bits_per_dim(log_prob(P, cfg, a["x"], a["c"], None, [a["noise"]])[0], a["x"], n_bits)
print(json.dumps({"v": v.flatten().tolist(), "bpd": bpd.tolist()}))
`;

describe.skipIf(torchSkipReason !== '')(`the PyTorch package's flow matching${torchSkipReason ? ` — skipped: ${torchSkipReason}` : ''}`, () => {
  const dir = join(base, 'flow-matching');

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("has FlowDesk's velocity field, and its bits per dim given a class with an evaluation's probes (two per image, Heun)", async () => {
    const config = { ...TINY_FLOW_MATCHING, channels: 1, classes: 2, probes: 2, solver: 'heun' } as const;
    const model = createModel(config, 3);
    const n = 3;
    const dim = 8 * 8;
    try {
      perturb(model.params, 0.05, 11); // the output convolution starts at zero, which would make v zero
      model.classLabels = { names: ['a', 'b'], frequencies: [0.5, 0.5] };
      const shape: [number, number, number, number] = [n, 8, 8, 1];
      const rng = new Rng(5);
      const x = rng.fillUniform(new Float32Array(n * dim)).map((v) => v - 0.5);
      const y = rng.fillNormal(new Float32Array(n * dim));
      const t = new Float32Array([0.1, 0.5, 0.9]);
      const c = new Float32Array([1, 0, 0, 0, 0, 1]); // class 0, no class, class 1
      const noise = rng.fillUniform(new Float32Array(n * 2 * dim)).map((v) => (v < 0.5 ? -1 : 1));
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, MODEL_JSON), JSON.stringify(modelJson(model, 8)));
      await writeFile(join(dir, WEIGHTS_FILE), encodeSafetensors(exportWeights(model)));
      const tensors = { x: [x, shape], y: [y, shape], t: [t, [n]], c: [c, [n, 2]], noise: [noise, [n, 2 * dim]] } as const;
      await writeFile(join(dir, 'velocity.safetensors'), encodeSafetensors(Object.fromEntries(Object.entries(tensors).map(([k, [data, s]]) => [k, { dtype: 'float32', shape: [...s], data }]))));
      const field = (model as unknown as { field: { apply(x: tf.Tensor4D, t: tf.Tensor1D, c?: tf.Tensor2D): tf.Tensor4D } }).field;
      const ours = tf.tidy(() => ({
        v: Array.from(field.apply(tf.tensor4d(y, shape), tf.tensor1d(t), tf.tensor2d(c, [n, 2])).dataSync()),
        bpd: Array.from(bitsPerDim(model, tf.tensor4d(x, shape), 8, tf.tensor2d(c, [n, 2]), [tf.tensor2d(noise, [n, 2 * dim])]).dataSync()),
      }));
      const [theirs] = runTorchPython(['-c', FLOW_MATCHING_PROBE, dir], SOURCES) as { v: number[]; bpd: number[] }[];
      // The field really moves the point, by image, time and class.
      expect(Math.max(...ours.v.map(Math.abs))).toBeGreaterThan(0.1);
      expectClose(theirs.v, ours.v, 1e-5);
      expectClose(theirs.bpd, ours.bpd, 1e-4);
    } finally {
      model.dispose();
    }
  }, RUN_LIMIT_MS);
});

/**
 * A run of `model` trained EXPORTED_STEP steps in FlowDesk (colour images in two classes: the root's
 * and sub/'s, mirrored), exported, continued `more` steps under torchrun with two gloo processes
 * (`twoProcesses`, else in one plain process), imported back, evaluated and resumed in FlowDesk.
 */
function describeContinuation(model: ModelConfig, more: number, twoProcesses = true): void {
  describe.skipIf(torchSkipReason !== '')(`the PyTorch package's continuation of ${model.kind}${torchSkipReason ? ` — skipped: ${torchSkipReason}` : ''}`, () => {
    const dir = join(base, `continue-${model.kind}`);
    let folder: Awaited<ReturnType<typeof makeImageFolder>>;
    let valSet: ImageSet;
    let origin: string;
    let packageDir: string;
    /** FlowDesk's own loss at the step after the exported one. */
    let nextLoss: number;

    beforeAll(async () => {
      folder = await makeImageFolder({ count: 72, size: 8, channels: 3, pattern: 'stripes', nested: true });
      valSet = (await importImageFolder(folder.dir, { size: 8, channels: 3, classes: 'folders-unlabelled', cacheDir: null })).val;
      const settings = { batch: 8, lr: 2e-3, warmup: 3, evalEvery: EXPORTED_STEP, checkpointEvery: EXPORTED_STEP, seed: 0, steps: EXPORTED_STEP, classes: 'folders-unlabelled', flip: 'auto' } as const;
      origin = (await train({ model, runsDir: join(dir, 'runs'), cacheDir: null, folder: folder.dir, name: 'origin', train: settings })).runDir;
      packageDir = join(dir, 'package');
      await exportPytorchPackage(origin, packageDir, join(dir, 'runs'), null);
      // The origin's own next step, on the batch PyTorch's first step takes.
      await resume(origin, { steps: EXPORTED_STEP + 1 });
      nextLoss = (await readMetrics(origin)).rows.find((r) => r.type === 'train' && r.step === EXPORTED_STEP + 1)!.loss as number;
    }, RUN_LIMIT_MS);

    afterAll(async () => {
      await folder?.cleanup();
      await rm(dir, { recursive: true, force: true });
    });

    it(`continues the run ${twoProcesses ? 'under torchrun with two gloo processes' : 'in one process'}, from FlowDesk next step`, async () => {
      const logs = join(dir, 'torchrun-logs');
      const trainArgs = ['train.py', '--steps', String(EXPORTED_STEP + more), '--cpu'];
      // --standalone: a free port for the rendezvous, so nothing else on the machine can collide with it.
      const torchrun = ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', '--redirects', '2', '--tee', '2', '--log_dir', logs];
      const lines = runTorchPython(twoProcesses ? [...torchrun, ...trainArgs] : trainArgs, packageDir) as { done?: boolean; worldSize?: number }[];
      expect(lines.find((l) => l.done)?.worldSize).toBe(twoProcesses ? 2 : 1);
      const rows = (await readMetrics(join(packageDir, PACKAGE_RUN))).rows;
      const trained = rows.filter((r) => r.type === 'train' && r.step > EXPORTED_STEP);
      expect(trained.map((r) => r.step)).toEqual(Array.from({ length: more }, (_, k) => EXPORTED_STEP + 1 + k));
      expectClose(trained[0].loss as number, nextLoss, 1e-4);
      // The origin's rows up to the export come first, so the imported run's curve is whole.
      expect(rows.filter((r) => r.type === 'train' && r.step <= EXPORTED_STEP)).toHaveLength(EXPORTED_STEP);
    }, RUN_LIMIT_MS);

    it('imports back as a run continued from its origin, which evaluates to what PyTorch reported and resumes', async () => {
      const runDir = await importPytorchRun(packageDir, join(dir, 'runs'));
      const run = await readRunJson(runDir);
      expect(run.continuedFrom).toEqual({ run: 'origin', step: EXPORTED_STEP });
      const evals = (await readMetrics(runDir)).rows.filter((r): r is MetricRecord & { valBpd: number } => r.type === 'eval' && typeof r.valBpd === 'number');
      const last = evals[evals.length - 1];
      expect(last.step).toBe(EXPORTED_STEP + more);
      const { model: loaded, weights } = await loadModelFolder(runDir);
      try {
        expect(weights).toMatchObject({ used: 'avg', step: EXPORTED_STEP + more });
        // As the trainer validates a conditional model: bits per dim given each image's class (of noised images for a noised TarFlow).
        const scores = await classScoresOfSet(loaded, valSet, { nBits: run.train.nBits, limit: run.train.valImages, seed: mixSeed(run.train.seed, 7) });
        expectClose(classMetrics(scores).conditionalBpd!, last.valBpd, 1e-4);
      } finally {
        loaded.dispose();
      }
      const resumed = await resume(runDir, { steps: EXPORTED_STEP + more + 2 });
      expect(resumed.step).toBe(EXPORTED_STEP + more + 2);
    }, RUN_LIMIT_MS);
  });
}

describeContinuation({ ...TINY, channels: 3 }, MORE_STEPS);
// Noise augmentation and label dropout (half the classes hidden, so the step's dropped rows matter) continue too.
describeContinuation({ ...TINY_TARFLOW, noise: 0.05, labelDropout: 0.5 }, 3);
// Flow matching's x0, t and hidden classes are FlowDesk's draws, and its validation (given the class,
// and of the unconditional branch) takes the evaluation's probes; DDP's split is the Glow's above.
describeContinuation({ ...TINY_FLOW_MATCHING, levels: 1, labelDropout: 0.5 }, 2, false);
