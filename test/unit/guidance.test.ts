// Class-conditional TarFlow and flow matching (issue 17): a zero-initialised class embedding (an
// untrained conditional model is its unconditional one), classifier-free guidance (w = 0 the
// unconditional model, w = 1 the conditional one in one pass), label dropout that never lets a
// hidden label reach the loss, TarFlow's invertibility under every class and its p(x) summed over
// classes (and "change the class"), and flow matching's evaluation by its unconditional branch.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import '@tensorflow/tfjs-backend-cpu';
import { dequantize, gatherBatch, type ImageSet } from '../../main/engine/data/index.ts';
import { oneHot as oneHotRows } from '../../main/engine/data/one-hot.ts';
import { changeClass } from '../../main/engine/explore/change-class.ts';
import { TransformerLayer } from '../../main/engine/flows/tarflow/transformer-layer.ts';
import type { ModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { FlowMatching } from '../../main/engine/models/flow-matching.ts';
import { bitsPerDim, drawNoise, scoringNoiseOf, stepInputsOf, trainingLoss, trainingNoiseOf, type FlowModel } from '../../main/engine/models/flow-model.ts';
import type { TarFlow } from '../../main/engine/models/tarflow.ts';
import { UNetVelocity } from '../../main/engine/models/unet-velocity.ts';
import { Rng } from '../../main/engine/random.ts';
import { runtimeFor } from '../../main/engine/runtime/runtime-for.ts';
import { drawValues, labelDropoutOf, scoringStream, trainingClasses, trainingInputs } from '../../main/engine/train/batches.ts';
import { classMetrics, classScoresOfSet } from '../../main/engine/train/class-evaluate.ts';
import { bitsPerDimOfSet } from '../../main/engine/train/evaluate.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { perturb, randomInput } from '../helpers/perturb.ts';

const K = 3;
const tarflow: ModelConfig = { kind: 'tarflow', size: 8, channels: 1, patch: 2, depth: 2, hidden: 16, attnLayers: 1, headDim: 8 };
const flowMatching: ModelConfig = { kind: 'flow-matching', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8, solver: 'euler', odeSteps: 2 };
const kinds: [string, ModelConfig][] = [
  ['TarFlow', tarflow],
  ['TarFlow with noise augmentation', { ...tarflow, noise: 0.1 } as ModelConfig],
  ['flow matching', flowMatching],
];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function oneHot(labels: number[]): tf.Tensor2D {
  return tf.tensor2d(oneHotRows(labels, K), [labels.length, K]);
}

/** A conditional model of `config` with every weight (its class embedding too) moved off its start. */
function trained(config: ModelConfig, scale = 0.05): FlowModel {
  const model = createModel({ ...config, classes: K } as ModelConfig, 0);
  perturb(model.params, scale);
  return model;
}

function labelledSet(count: number, labels: number[]): ImageSet {
  const pixels = new Rng(5).fillUniform(new Float32Array(count * 64)).map((v) => Math.floor(v * 256));
  return { size: 8, channels: 1, count, pixels: Uint8Array.from(pixels), paths: [], labels: Int32Array.from(labels), classes: ['a', 'b', 'c'] };
}

for (const [name, config] of kinds) {
  describe(`class-conditional ${name}`, () => {
    it('equals the unconditional model while untrained, with the same other weights and names', () => {
      const x = randomInput([3, 8, 8, 1], 1, 0.2);
      const plain = createModel(config, 0);
      const conditional = createModel({ ...config, classes: K } as ModelConfig, 0);
      const plainNames = [...plain.params.variables.keys()];
      expect(plainNames.some((n) => n.includes('class'))).toBe(false);
      for (const key of plainNames) expectClose(conditional.params.variables.get(key)!, plain.params.variables.get(key)!, 0, 0);
      expect(stepInputsOf(conditional).at(-1)).toEqual({ name: 'classes', values: K });
      const c = oneHot([0, 2, -1]);
      expectClose(conditional.logProb(x, c), plain.logProb(x), 1e-5, 1e-5);
      expectClose(conditional.sample(3, 0.7, new Rng(9), c, 3), plain.sample(3, 0.7, new Rng(9)), 1e-5, 1e-5);
      plain.dispose();
      conditional.dispose();
    });

    it('samples the unconditional model at guidance 0 and the conditional one at 1, from the same noise', () => {
      const model = trained(config);
      const c = oneHot([0, 1, 2]);
      const none = oneHot([-1, -1, -1]);
      const draw = (rows: tf.Tensor2D | undefined, w?: number) => model.sample(3, 0.8, new Rng(4), rows, w);
      const unconditional = draw(none);
      const conditional = draw(c);
      expectClose(draw(c, 0), unconditional, 1e-5, 1e-5);
      expectClose(draw(undefined), unconditional, 1e-5, 1e-5);
      expectClose(draw(c, 1), conditional, 0, 0);
      // The class matters, and guidance beyond 1 moves the samples further.
      expect(tf.max(tf.abs(tf.sub(conditional, unconditional))).dataSync()[0]).toBeGreaterThan(1e-3);
      expect(tf.max(tf.abs(tf.sub(draw(c, 3), conditional))).dataSync()[0]).toBeGreaterThan(1e-3);
      model.dispose();
    });

    it('keeps a dropped label out of the loss: an all-zero row scores as no class, whatever the image\'s class', () => {
      const model = trained(config);
      expect(labelDropoutOf(model)).toBe(0.1);
      const seed = 2;
      const batch = 8;
      // Two sets of the same images with different labels; find a step that drops some and keeps some.
      const a = labelledSet(8, [0, 1, 2, 0, 1, 2, 0, 1]);
      const b = labelledSet(8, [1, 2, 0, 1, 2, 0, 1, 2]);
      const dropped = (rows: Float32Array) => Array.from({ length: batch }, (_, i) => rows.subarray(i * K, (i + 1) * K).every((v) => v === 0));
      let step = 0;
      while (!dropped(trainingClasses(a, K, batch, seed, step, 0.3)).some(Boolean)) step++;
      const rowsA = trainingClasses(a, K, batch, seed, step, 0.3);
      const rowsB = trainingClasses(b, K, batch, seed, step, 0.3);
      // The same images are dropped whatever their labels: the draw depends on (seed, step) alone.
      expect(dropped(rowsB)).toEqual(dropped(rowsA));
      const x = tf.tensor4d(dequantize(gatherBatch(a, Array.from({ length: batch }, (_, i) => i)), 8, new Rng(1)), [batch, 8, 8, 1]);
      const noise = drawValues(trainingNoiseOf(model), batch, new Rng(3)).map((v) => tf.tensor2d(v, [batch, v.length / batch]));
      const loss = (rows: Float32Array | undefined) => (rows ? trainingLoss(model, x, [...noise, tf.tensor2d(rows, [batch, K])], 8) : bitsOrObjective(model, x, noise)).dataSync();
      const lossA = loss(rowsA);
      const lossB = loss(rowsB);
      const lossNone = loss(undefined);
      dropped(rowsA).forEach((gone, i) => {
        if (gone) {
          expect(lossB[i]).toBe(lossA[i]);
          expect(lossA[i]).toBeCloseTo(lossNone[i], 5);
        } else expect(Math.abs(lossB[i] - lossA[i])).toBeGreaterThan(1e-6);
      });
      model.dispose();
    });
  });
}

/** The training loss without classes: the unconditional branch. */
function bitsOrObjective(model: FlowModel, x: tf.Tensor4D, noise: tf.Tensor2D[]): tf.Tensor1D {
  return model.objective ? model.objective.loss(x, noise) : bitsPerDim(model, x, 8);
}

describe('label dropout', () => {
  it('hides classes at the configured rate within sampling error, the same for the same (seed, step)', () => {
    const set = labelledSet(50, Array.from({ length: 50 }, (_, i) => i % 3));
    let hidden = 0;
    const steps = 50;
    const batch = 64;
    for (let step = 0; step < steps; step++) {
      const rows = trainingClasses(set, K, batch, 7, step, 0.25);
      for (let i = 0; i < batch; i++) hidden += rows.subarray(i * K, (i + 1) * K).every((v) => v === 0) ? 1 : 0;
    }
    const n = steps * batch;
    // Four standard errors of a binomial share.
    expect(Math.abs(hidden / n - 0.25)).toBeLessThan(4 * Math.sqrt((0.25 * 0.75) / n));
    expect(trainingClasses(set, K, batch, 7, 3, 0.25)).toEqual(trainingClasses(set, K, batch, 7, 3, 0.25));
    expect(trainingClasses(set, K, batch, 7, 3, 0.25)).not.toEqual(trainingClasses(set, K, batch, 7, 4, 0.25));
    // No dropout: every image keeps its class; a Glow has none.
    expect(trainingClasses(set, K, batch, 7, 3).reduce((sum, v) => sum + v, 0)).toBe(batch);
    const glow = createModel({ kind: 'glow', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8, classes: K }, 0);
    expect(labelDropoutOf(glow)).toBe(0);
    expect(trainingInputs(glow, set, batch, 7, 3)[0]).toEqual(trainingClasses(set, K, batch, 7, 3));
    glow.dispose();
  });
});

describe('guidance', () => {
  it('runs one network pass per evaluation at weights 0 and 1, and both in one doubled batch otherwise', () => {
    const model = trained(flowMatching) as FlowMatching;
    const apply = vi.spyOn(UNetVelocity.prototype, 'apply');
    const c = oneHot([0, 1]);
    const rows = (w: number) => {
      apply.mockClear();
      model.sample(2, 1, new Rng(1), c, w).dispose();
      return apply.mock.calls.map(([x]) => x.shape[0]);
    };
    // Euler, 2 steps: 2 evaluations.
    expect(rows(1)).toEqual([2, 2]);
    expect(rows(0)).toEqual([2, 2]);
    expect(rows(2.5)).toEqual([4, 4]);
    apply.mockRestore();
    const tar = trained(tarflow);
    const step = vi.spyOn(TransformerLayer.prototype, 'step');
    const batches = (w: number) => {
      step.mockClear();
      tar.sample(2, 1, new Rng(1), c, w).dispose();
      return new Set(step.mock.calls.map(([h]) => h.shape[0]));
    };
    expect(batches(1)).toEqual(new Set([2]));
    expect(batches(0)).toEqual(new Set([2]));
    expect(batches(2)).toEqual(new Set([4]));
    step.mockRestore();
    model.dispose();
    tar.dispose();
  });

  it("follows v(x, t, null) + w (v(x, t, c) - v(x, t, null)) in flow matching's ODE", () => {
    // One Euler step from t = 0: the image is (z + v) / 2 with v the guided velocity at z.
    const model = trained({ ...flowMatching, solver: 'euler', odeSteps: 1 } as ModelConfig) as FlowMatching;
    const c = oneHot([2, 0]);
    const z = randomInput([2, 8, 8, 1], 3, 1);
    const noise = [z.dataSync() as Float32Array];
    // The model's own field (private), at t = 0.
    const field = (model as unknown as { field: UNetVelocity }).field;
    const velocity = (rows?: tf.Tensor2D) => field.apply(z, tf.zeros([2]) as tf.Tensor1D, rows);
    const u = velocity(undefined);
    const v = velocity(c);
    const w = 2.5;
    const want = tf.div(tf.add(z, tf.add(u, tf.mul(tf.sub(v, u), w))), 2);
    expectClose(model.sampleFromNoise(noise, 2, c, w), want, 1e-5, 1e-5);
    model.dispose();
  });

  it("samples the same guided images through the model's compute runtime (split across replica threads)", async () => {
    const model = trained(tarflow);
    const rows = oneHotRows([0, 1, 2, 1], K);
    const images = await runtimeFor(model).sample(4, 0.9, new Rng(2), rows, 2.5);
    expectClose(images, model.sample(4, 0.9, new Rng(2), tf.tensor2d(rows, [4, K]), 2.5), 1e-5, 1e-5);
    model.dispose();
  });

  it("decodes TarFlow's guided patches the same with and without the blocks' caches", () => {
    const model = trained(tarflow) as TarFlow;
    const c = oneHot([1, 2, 0]);
    const z = tf.tensor4d(drawNoise(model, 3, 1, new Rng(6))[0], [3, 8, 8, 1]);
    for (const w of [0, 1, 2.5]) expectClose(model.inverse([z], true, c, w), model.inverse([z], false, c, w), 1e-4, 1e-4);
    model.dispose();
  });
});

describe('class-conditional TarFlow', () => {
  it('inverts under every class; the class changes the transform and its log-determinant, and an all-zero row is no class', () => {
    const model = trained(tarflow, 0.1);
    const x = randomInput([3, 8, 8, 1], 2, 0.3);
    const outs = [0, 1, 2].map((y) => {
      const c = oneHot([y, y, y]);
      expectClose(model.decode(model.encode(x, c), c), x, 1e-4, 1e-4);
      return model.forward(x, c);
    });
    for (const out of outs.slice(1)) {
      expect(tf.max(tf.abs(tf.sub(out.logdet, outs[0].logdet))).dataSync()[0]).toBeGreaterThan(1e-4);
      expect(tf.max(tf.abs(tf.sub(out.zs[0], outs[0].zs[0]))).dataSync()[0]).toBeGreaterThan(1e-4);
    }
    const none = model.forward(x, oneHot([-1, -1, -1]));
    expectClose(none.zs[0], model.forward(x).zs[0], 1e-6, 1e-6);
    expectClose(none.logdet, model.forward(x).logdet, 1e-5, 1e-6);
    model.dispose();
  });

  it('changes the class of an image: back to itself under its own class, another image under another', () => {
    const model = trained(tarflow, 0.1);
    model.classLabels = { names: ['a', 'b', 'c'], frequencies: [1 / 3, 1 / 3, 1 / 3] };
    const pixels = Uint8Array.from(new Rng(8).fillUniform(new Float32Array(64)), (v) => Math.floor(v * 256));
    const out = changeClass({ model, nBits: 8 }, pixels, 1, [1, 0]);
    const worst = (from: number) => Math.max(...Array.from(out.subarray(from, from + 64), (v, i) => Math.abs(v - pixels[i])));
    expect(worst(0)).toBeLessThanOrEqual(1);
    expect(worst(64)).toBeGreaterThan(1);
    model.dispose();
  });

  it("evaluates log p(x) as logsumexp over classes of log p(x|y) + log p(y), the bits given the class, and the accuracy", async () => {
    const set = labelledSet(6, [0, 1, 2, 0, 1, 1]);
    const nBits = 5;
    const model = trained(tarflow, 0.1);
    model.classLabels = { names: ['a', 'b', 'c'], frequencies: [2 / 6, 3 / 6, 1 / 6] };
    const x = tf.tensor4d(dequantize(gatherBatch(set, [0, 1, 2, 3, 4, 5]), nBits, new Rng(11)), [6, 8, 8, 1]);
    const scores = await classScoresOfSet(model, set, { nBits, seed: 11 });
    const perClass = [0, 1, 2].map((y) => Array.from(model.logProb(x, oneHot(Array(6).fill(y))).dataSync()));
    const bits = (logp: number) => -logp / (64 * Math.LN2) + nBits;
    for (let i = 0; i < 6; i++) {
      const terms = [0, 1, 2].map((y) => perClass[y][i] + Math.log(model.classLabels!.frequencies[y]));
      const max = Math.max(...terms);
      expect(scores.unconditional[i]).toBeCloseTo(bits(max + Math.log(terms.reduce((s, t) => s + Math.exp(t - max), 0))), 5);
      expect(scores.conditional[i]).toBeCloseTo(bits(perClass[set.labels![i]][i]), 5);
      expect(scores.predicted![i]).toBe([0, 1, 2].reduce((b, y) => (perClass[y][i] > perClass[b][i] ? y : b), 0));
    }
    expectClose(await bitsPerDimOfSet(model, set, { nBits, seed: 11 }), scores.unconditional, 1e-5);
    expect(classMetrics(scores).accuracy).toEqual(expect.any(Number));
    model.dispose();
  });
});

describe('class-conditional flow matching', () => {
  it('evaluates the bits given the class and its unconditional branch for p(x), with no accuracy', async () => {
    const set = labelledSet(4, [0, 2, 1, 2]);
    const nBits = 5;
    const model = trained(flowMatching);
    model.classLabels = { names: ['a', 'b', 'c'], frequencies: [0.25, 0.25, 0.5] };
    const x = tf.tensor4d(dequantize(gatherBatch(set, [0, 1, 2, 3]), nBits, new Rng(11)), [4, 8, 8, 1]);
    const probes = drawValues(scoringNoiseOf(model), 4, scoringStream(11)).map((v) => tf.tensor2d(v, [4, v.length / 4]));
    const scores = await classScoresOfSet(model, set, { nBits, seed: 11 });
    expectClose(scores.conditional, bitsPerDim(model, x, nBits, oneHot([0, 2, 1, 2]), probes), 1e-4, 1e-5);
    expectClose(scores.unconditional, bitsPerDim(model, x, nBits, undefined, probes), 1e-4, 1e-5);
    expect(scores.predicted).toBeNull();
    expect(classMetrics(scores).accuracy).toBeNull();
    // Scored without a class (ranking, the projector): the same unconditional branch.
    expectClose(await bitsPerDimOfSet(model, set, { nBits, seed: 11 }), scores.unconditional, 1e-5);
    model.dispose();
  });
});
