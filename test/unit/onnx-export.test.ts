// `flowdesk export --onnx`: the exported sample.onnx and encode.onnx, run by onnxruntime-node, give
// FlowDesk's own pixels from the same noise and its latents and log p(x) for the same pixels, for
// every image model kind that traces (a restoration model's given the same observation y);
// onnx.checker (python3-onnx) accepts both files; a model whose ODE solve does not trace is refused,
// naming the setting; the averaged weights are the default.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { initBackend } from '../../main/engine/backend.ts';
import { encodeSafetensors } from '../../main/engine/checkpoint/safetensors.ts';
import { toPixels } from '../../main/engine/data/index.ts';
import { centred } from '../../main/engine/explore/explorer.ts';
import type { ModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { logClassPrior, marginalLogProbs } from '../../main/engine/models/class-marginal.ts';
import { classCountOf, drawNoise, scoringNoiseOf, scoringNoiseTensors, type FlowModel } from '../../main/engine/models/flow-model.ts';
import { writeCheckpoint } from '../../main/engine/checkpoint/checkpoint-store.ts';
import { exportWeights, modelJson } from '../../main/engine/models/model-io.ts';
import { onnxExportFiles } from '../../main/engine/onnx/onnx-export.ts';
import { loadOrt } from '../../main/engine/onnx/runtime.ts';
import { Rng } from '../../main/engine/random.ts';
import { degradedObservation, restoreTaskOf } from '../../main/engine/restore/observation.ts';
import { drawValues } from '../../main/engine/train/batches.ts';
import { exportModel } from '../../main/engine/runs/model-export.ts';
import { exportCommand } from '../../main/cli/model-commands.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { checkOnnxFiles, onnxCheckerSkipReason, requireOnnxCheckerInCi, runReadmePythonExample } from '../helpers/onnx-checker.ts';
import { perturb } from '../helpers/perturb.ts';

const loaded = loadOrt();
const ort = 'ort' in loaded ? loaded.ort : null;
const why = 'reason' in loaded ? ` — skipped: ${loaded.reason}` : '';
if (onnxCheckerSkipReason) console.log(`onnx-export: onnx.checker skipped: ${onnxCheckerSkipReason}`);
/** What the model tests say of the second reader: that it accepts the files, or why it was skipped. */
const checkerTitle = onnxCheckerSkipReason ? `onnx.checker skipped: ${onnxCheckerSkipReason}` : 'onnx.checker accepts it';
requireOnnxCheckerInCi();

const N = 3;

type Ort = NonNullable<typeof ort>;
type Feeds = Record<string, InstanceType<Ort['Tensor']>>;

/** Writes `model` as an exported model folder (model.json + weights.safetensors) under `root`. */
async function modelFolder(root: string, name: string, model: FlowModel, nBits: number): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson(model, nBits)));
  await writeFile(join(dir, 'weights.safetensors'), encodeSafetensors(exportWeights(model)));
  return dir;
}

/** Pixel values that differ between `a` and `b`, and the largest difference. */
function pixelDifferences(a: ArrayLike<number>, b: ArrayLike<number>): { count: number; max: number } {
  let count = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > 0) count++;
    max = Math.max(max, d);
  }
  return { count, max };
}

/** One-hot rows of classes 0, 1, 2, ... (mod K) for N images. */
function classRows(classes: number): Float32Array {
  return Float32Array.from({ length: N * classes }, (_, i) => (i % classes === Math.floor(i / classes) % classes ? 1 : 0));
}

/** log p(x) in nats of the images `x` as FlowDesk scores them: a conditional model's summed over its classes. */
function flowDeskLogProb(model: FlowModel, x: tf.Tensor4D, probes: Float32Array[]): Float64Array {
  if (classCountOf(model) > 0) {
    const perClass = model.classLogProbs!(x);
    const out = marginalLogProbs(perClass.dataSync(), logClassPrior(model));
    perClass.dispose();
    return out;
  }
  const logp = model.logProb(x, undefined, scoringNoiseTensors(model, probes, N));
  const out = Float64Array.from(logp.dataSync());
  logp.dispose();
  return out;
}

/** For a restoration model, an observation y of N seeded images with seeded degradations (restore/observation.ts); null otherwise. */
function seededObservation(model: FlowModel): tf.Tensor4D | null {
  const task = restoreTaskOf(model);
  if (task === 'none') return null;
  const { size, channels } = model.config;
  const x = new Rng(8).fillUniform(new Float32Array(N * size * size * channels)).map((v) => v - 0.5);
  const [values] = drawValues(scoringNoiseOf(model), N, new Rng(9));
  return tf.tidy(() => degradedObservation(task, tf.tensor4d(x, [N, size, size, channels]), tf.tensor2d(values, [N, values.length / N])));
}

/**
 * Exports `model` from a model folder, then checks sample.onnx against model.sampleFromNoise and
 * toPixels, encode.onnx against model.encode and FlowDesk's log p(x) at bin centres (a restoration
 * model's against sampleGiven and forwardGiven, given the same y), and both files with onnx.checker.
 */
async function checkExport(o: Ort, root: string, name: string, model: FlowModel, nBits: number): Promise<void> {
  const out = join(root, `${name}-onnx`);
  const source = await modelFolder(root, name, model, nBits);
  const { files, batch } = await exportModel(source, out, join(root, 'runs'), undefined, { format: 'onnx', batch: N });
  expect(batch).toBe(N);
  expect(files.map((f) => f.slice(out.length + 1)).sort()).toEqual(['README.md', 'encode.onnx', 'sample.onnx']);
  const { size, channels } = model.config;
  const shape = [N, size, size, channels];
  const classes = classCountOf(model);
  const c = classes > 0 ? tf.tensor2d(classRows(classes), [N, classes]) : undefined;
  const y = seededObservation(model);

  // Sampling: the same noise at temperature 0.8 (and the same classes) gives FlowDesk's pixels.
  const sample = await o.InferenceSession.create(join(out, 'sample.onnx'));
  const noise = drawNoise(model, N, 1, new Rng(5));
  const feeds: Feeds = { temperature: new o.Tensor('float32', Float32Array.of(0.8), [1]) };
  model.noiseShapes.forEach(([h, w, ch], i) => (feeds[`noise.${i}`] = new o.Tensor('float32', noise[i], [N, h, w, ch])));
  if (c) feeds.classes = new o.Tensor('float32', classRows(classes), [N, classes]);
  if (y) feeds.y = new o.Tensor('float32', y.dataSync(), y.shape);
  const { images } = await sample.run(feeds);
  const scaled = noise.map((v) => v.map((e) => e * 0.8));
  const x = y ? model.sampleGiven!(scaled, N, y) : model.sampleFromNoise(scaled, N, c);
  const want = toPixels(x.dataSync(), nBits);
  x.dispose();
  expect(images.type).toBe('uint8');
  expect(images.dims).toEqual(shape);
  const diff = pixelDifferences(images.data as Uint8Array, want);
  // A value on a bin's edge may land in its neighbour in float32: one bin, rarely.
  expect(diff.max).toBeLessThanOrEqual(2 ** (8 - nBits));
  expect(diff.count).toBeLessThanOrEqual(Math.ceil(want.length / 100));

  // Encoding: pixels at their bins' centres, every latent and log p(x) (and the probes of an estimate).
  const pixels = Uint8Array.from(new Rng(6).fillUniform(new Float32Array(want.length), 256), Math.floor);
  // A restoration model's scoring noise is its degradation values, which y stands in for.
  const probes = y ? [] : drawValues(scoringNoiseOf(model), N, new Rng(7));
  const encode = await o.InferenceSession.create(join(out, 'encode.onnx'));
  const inputs: Feeds = { pixels: new o.Tensor('uint8', pixels, shape) };
  probes.forEach((p, i) => (inputs[i === 0 ? 'probes' : `probes.${i}`] = new o.Tensor('float32', p, [N, p.length / N])));
  if (y) inputs.y = new o.Tensor('float32', y.dataSync(), y.shape);
  const got = await encode.run(inputs);
  const input = tf.tensor4d(centred(pixels, nBits), shape as [number, number, number, number]);
  const given = y ? model.forwardGiven!(input, y) : null;
  const zs = given ? given.zs : model.encode(input);
  zs.forEach((z, i) => expectClose(got[`z.${i}`].data as Float32Array, z, 1e-4, 1e-4));
  const logp = given ? Float64Array.from(tf.tidy(() => tf.add(given.logdet, given.logpz)).dataSync()) : flowDeskLogProb(model, input, probes);
  expectClose(got.logp.data as Float32Array, logp, 1e-4, 1e-5);
  const dims = size * size * channels;
  expectClose(got.bpd.data as Float32Array, logp.map((l) => nBits - l / (dims * Math.LN2)), 1e-4);
  tf.dispose([input, ...zs, ...(c ? [c] : []), ...(y ? [y] : []), ...(given ? [given.logdet, given.logpz] : [])]);
  await Promise.all([sample.release(), encode.release()]);

  if (!onnxCheckerSkipReason) expect(checkOnnxFiles([join(out, 'sample.onnx'), join(out, 'encode.onnx')])).toMatch(/sample\.onnx 17 \[''\]/);
}

/** Runs the README's Node example in the export folder `out` (onnxruntime-node from this checkout), and checks its Python one; returns what Node printed. */
async function runReadmeNodeExample(out: string): Promise<string> {
  const readme = await readFile(join(out, 'README.md'), 'utf8');
  const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  await writeFile(join(out, 'example.cjs'), code!);
  const modules = fileURLToPath(new URL('../../node_modules', import.meta.url));
  const run = spawnSync(process.execPath, ['example.cjs'], { cwd: out, encoding: 'utf8', env: { ...process.env, NODE_PATH: modules }, timeout: 120_000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  // Its Python example feeds what the files take (onnxruntime itself is not in Debian).
  if (!onnxCheckerSkipReason) expect(runReadmePythonExample(out, readme)).toMatch(/'logp': \(3,\)/);
  return run.stdout;
}

describe.skipIf(!ort)(`ONNX export${why}`, () => {
  let root: string;
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
    root = await mkdtemp(join(tmpdir(), 'flowdesk-onnx-export-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const models: [string, ModelConfig, number][] = [
    ['glow', { kind: 'glow', size: 8, channels: 3, levels: 2, depth: 2, hidden: 8 }, 8],
    ['glow-additive-shuffle', { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8, coupling: 'additive', permutation: 'shuffle' }, 5],
    ['glow-spline-reverse', { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8, coupling: 'spline', bins: 4, tailBound: 2, permutation: 'reverse' }, 8],
    ['realnvp', { kind: 'realnvp', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8 }, 8],
    ['nice', { kind: 'nice', size: 8, channels: 1, depth: 4, hidden: 16 }, 8],
    ['tarflow', { kind: 'tarflow', size: 8, channels: 1, patch: 2, depth: 2, hidden: 16, attnLayers: 1, headDim: 8 }, 8],
    ['tarflow-noise', { kind: 'tarflow', size: 8, channels: 1, patch: 2, depth: 1, hidden: 16, attnLayers: 1, headDim: 8, noise: 0.05 }, 8],
    ['flow-matching-heun', { kind: 'flow-matching', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8, solver: 'heun', odeSteps: 2 }, 8],
    ['glow-upscale-2', { kind: 'glow', size: 8, channels: 3, levels: 2, depth: 1, hidden: 8, restoreTask: 'upscale-2' }, 8],
    ['realnvp-inpaint', { kind: 'realnvp', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8, restoreTask: 'inpaint' }, 8],
  ];
  for (const [name, config, nBits] of models) {
    it(`gives FlowDesk's pixels, latents and log p(x); ${checkerTitle}: ${name}`, async () => {
      const model = createModel(config, 1);
      perturb(model.params, 0.05);
      try {
        await checkExport(ort!, root, name, model, nBits);
        // Its README's example feeds every input (noise, temperature, a flow-matching model's probes, a restoration model's y).
        if (name === 'flow-matching-heun' || name === 'realnvp-inpaint') expect(await runReadmeNodeExample(join(root, `${name}-onnx`))).toMatch(/\[ 3, 8, 8, 1 \]/);
        // A restoration model's README says how y is made from pixels.
        if (name === 'glow-upscale-2') {
          const readme = await readFile(join(root, `${name}-onnx`, 'README.md'), 'utf8');
          expect(readme).toContain("| `y` | float32 [3, 8, 8, 3] | the observation the model was trained to be given (restoreTask upscale-2): the small image's pixels (1/2 of the side)");
          expect(readme).toContain('log p(x \\| y)');
        }
      } finally {
        model.dispose();
      }
    }, 180_000);
  }

  it('takes a conditional Glow\'s classes and sums its log p(x) over them', async () => {
    const model = createModel({ kind: 'glow', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8, classes: 3, classWeight: 0.5 }, 2);
    model.classLabels = { names: ['a', 'b', 'c'], frequencies: [0.2, 0.3, 0.5] };
    perturb(model.params, 0.05);
    try {
      await checkExport(ort!, root, 'glow-classes', model, 8);
      expect(await readFile(join(root, 'glow-classes-onnx', 'README.md'), 'utf8')).toContain('`classes` | float32 [3, 3] | one-hot class rows (index order: a, b, c)');
      expect(await runReadmeNodeExample(join(root, 'glow-classes-onnx'))).toMatch(/\[ 3, 8, 8, 1 \]/);
    } finally {
      model.dispose();
    }
  }, 180_000);

  it('releases every tensor its traces make', async () => {
    const model = createModel({ kind: 'glow', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8, classes: 2 }, 6);
    model.classLabels = { names: ['a', 'b'], frequencies: [0.5, 0.5] };
    const weights = { requested: 'avg', used: 'avg', step: 1, decay: 0.999, valBpd: null } as const;
    try {
      // The first export may fill caches of constants kept for later traces.
      onnxExportFiles(model, 8, weights, 2);
      const before = tf.memory().numTensors;
      onnxExportFiles(model, 8, weights, 2);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      model.dispose();
    }
  });

  it('refuses an ODE solve that does not trace, naming the solver setting', async () => {
    const model = createModel({ kind: 'flow-matching', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8, solver: 'dopri5' }, 3);
    try {
      const source = await modelFolder(root, 'flow-matching-dopri5', model, 8);
      await expect(exportModel(source, join(root, 'dopri5-onnx'), join(root, 'runs'), undefined, { format: 'onnx' })).rejects.toMatchObject({
        code: 'BAD_CONFIG',
        message: expect.stringMatching(/solver "dopri5".*the "solver" setting at a fixed-step solver/),
      });
    } finally {
      model.dispose();
    }
  });

  it('is `flowdesk export --onnx`, whose --batch fixes the graphs\' batch and applies to ONNX only', async () => {
    const model = createModel({ kind: 'nice', size: 4, channels: 1, depth: 2, hidden: 8 }, 5);
    try {
      const source = await modelFolder(root, 'cli-nice', model, 8);
      const out = join(root, 'cli-onnx');
      const lines: string[] = [];
      expect(await exportCommand([source, '--onnx', '--batch', '2', '--runs', join(root, 'runs'), '-o', out], (l) => lines.push(l))).toBe(0);
      expect(lines.join('\n')).toMatch(/sample\.onnx and .*encode\.onnx and .*README\.md\n.*2 images per run/);
      const encode = await ort!.InferenceSession.create(join(out, 'encode.onnx'));
      expect(encode.inputNames).toEqual(['pixels']);
      await encode.release();
      await expect(exportCommand([source, '--batch', '2', '--runs', join(root, 'runs'), '-o', join(root, 'cli-plain')], () => undefined)).rejects.toThrow(/--batch applies to --onnx exports only/);
    } finally {
      model.dispose();
    }
  });

  it('holds the averaged weights by default, and says so in its README', async () => {
    const config: ModelConfig = { kind: 'nice', size: 4, channels: 1, depth: 2, hidden: 8 };
    const last = createModel(config, 4);
    const avg = createModel(config, 4);
    perturb(last.params, 0.1, 1);
    perturb(avg.params, 0.1, 2);
    try {
      const runDir = join(root, 'ema-run');
      const checkpoint = await writeCheckpoint(runDir, {
        step: 7,
        model: modelJson(last, 8),
        weights: exportWeights(last),
        weightsMeta: { weights: 'last', step: '7' },
        ema: { tensors: exportWeights(avg), meta: { weights: 'avg', step: '7', decay: '0.999', updates: '7' } },
        optimizer: {},
        optimizerMeta: { kind: 'none', step: '7' },
        state: {},
      });
      const out = join(root, 'ema-onnx');
      const { weights } = await exportModel(checkpoint, out, join(root, 'runs'), undefined, { format: 'onnx', batch: 1 });
      expect(weights.used).toBe('avg');
      expect(await readFile(join(out, 'README.md'), 'utf8')).toContain('Weights: averaged (decay 0.999) from step 7');
      const pixels = Uint8Array.from({ length: 16 }, (_, i) => i * 16);
      const encode = await ort!.InferenceSession.create(join(out, 'encode.onnx'));
      const { logp } = await encode.run({ pixels: new ort!.Tensor('uint8', pixels, [1, 4, 4, 1]) });
      await encode.release();
      const x = tf.tensor4d(centred(pixels, 8), [1, 4, 4, 1]);
      const [fromAvg, fromLast] = [avg.logProb(x), last.logProb(x)];
      expectClose(logp.data as Float32Array, fromAvg, 1e-4, 1e-5);
      expect(Math.abs((logp.data as Float32Array)[0] - fromLast.dataSync()[0])).toBeGreaterThan(1e-2);
      tf.dispose([x, fromAvg, fromLast]);
    } finally {
      last.dispose();
      avg.dispose();
    }
  });
});
