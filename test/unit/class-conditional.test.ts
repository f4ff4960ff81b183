// Class-conditional Glow and RealNVP (issue 17): only the top prior sees the class; an untrained
// conditional model is its unconditional one; encoding and sampling invert with a class; the
// evaluation's unconditional log p(x) is the sum over classes of p(x|y) p(y); model.json keeps the classes.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import '@tensorflow/tfjs-backend-cpu';
import { dequantize, gatherBatch, type ImageSet } from '../../main/engine/data/index.ts';
import { classRows, oneHot as oneHotRows } from '../../main/engine/data/one-hot.ts';
import { changeClass } from '../../main/engine/explore/change-class.ts';
import { classCrossEntropyBits } from '../../main/engine/flows/class-conditioning.ts';
import type { ModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { bitsPerDim, stepInputsOf, trainingLoss, type FlowModel } from '../../main/engine/models/flow-model.ts';
import { exportWeights, loadModel, modelJson, parseModelJson } from '../../main/engine/models/model-io.ts';
import { Rng } from '../../main/engine/random.ts';
import { classMetrics, classScoresOfSet } from '../../main/engine/train/class-evaluate.ts';
import { bitsPerDimOfSet } from '../../main/engine/train/evaluate.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { perturb, randomInput } from '../helpers/perturb.ts';

const K = 3;
const kinds: [string, ModelConfig][] = [
  ['glow', { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8 }],
  ['realnvp', { kind: 'realnvp', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8 }],
];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function oneHot(labels: number[]): tf.Tensor2D {
  return tf.tensor2d(oneHotRows(labels, K), [labels.length, K]);
}

/** A conditional model of `config`, initialised on `x`, every weight (the class ones too) moved off its start. */
function trained(config: ModelConfig, x: tf.Tensor4D): FlowModel {
  const model = createModel({ ...config, classes: K } as ModelConfig, 0);
  model.initialise(x);
  perturb(model.params, 0.1);
  return model;
}

function labelledSet(count: number, size: number, labels: number[]): ImageSet {
  const pixels = new Rng(5).fillUniform(new Float32Array(count * size * size)).map((v) => Math.floor(v * 256));
  return { size, channels: 1, count, pixels: Uint8Array.from(pixels), paths: [], labels: Int32Array.from(labels), classes: ['a', 'b', 'c'] };
}

for (const [name, config] of kinds) {
  describe(`class-conditional ${name}`, () => {
    it('equals the unconditional model while untrained, for every class', () => {
      const x = randomInput([4, 8, 8, 1], 1, 0.2);
      const plain = createModel(config, 0);
      const conditional = createModel({ ...config, classes: K } as ModelConfig, 0);
      plain.initialise(x);
      conditional.initialise(x);
      const c = oneHot([0, 1, 2, -1]);
      expectClose(conditional.logProb(x, c), plain.logProb(x), 1e-5, 1e-5);
      expectClose(conditional.sample(4, 0.7, new Rng(9), c), plain.sample(4, 0.7, new Rng(9)), 1e-5, 1e-5);
      expect(stepInputsOf(conditional).map((s) => s.name)).toEqual(['classes']);
      expect(stepInputsOf(plain)).toEqual([]);
      plain.dispose();
      conditional.dispose();
    });

    it('changes only the prior: the latents and log-determinant are the same under every class, log p(z) is not', () => {
      const x = randomInput([3, 8, 8, 1], 2, 0.2);
      const model = trained(config, x);
      const outs = [0, 1, 2].map((y) => model.forward(x, oneHot([y, y, y])));
      for (const out of outs.slice(1)) {
        out.zs.forEach((z, i) => expectClose(z, outs[0].zs[i], 0, 0));
        expectClose(out.logdet, outs[0].logdet, 0, 0);
        expect(tf.max(tf.abs(tf.sub(out.logpz, outs[0].logpz))).dataSync()[0]).toBeGreaterThan(1e-2);
      }
      // An all-zero row is the base prior: the forward pass without classes.
      expectClose(model.forward(x, oneHot([-1, -1, -1])).logpz, model.forward(x).logpz, 1e-6, 1e-6);
      model.dispose();
    });

    it('inverts with a class: decode(encode(x)), its noise sampled under its class, and a sample scored back', () => {
      const x = randomInput([3, 8, 8, 1], 3, 0.2);
      const model = trained(config, x);
      const c = oneHot([2, 0, 1]);
      expectClose(model.decode(model.encode(x, c), c), x, 1e-4, 1e-4);
      expectClose(model.sampleFromNoise(model.noiseOf!(x, c), 3, c), x, 1e-4, 1e-4);
      const samples = model.sample(3, 0.8, new Rng(4), c);
      expect(Number.isFinite(tf.sum(model.logProb(samples, c)).dataSync()[0])).toBe(true);
      model.dispose();
    });

    it("adds classWeight times the class head's cross-entropy in bits to each image's bits per dim, none for an image without a class", () => {
      const x = randomInput([3, 8, 8, 1], 4, 0.2);
      const model = trained(config, x);
      const c = oneHot([1, -1, 2]);
      const weight = (model.config as { classWeight: number }).classWeight;
      expect(weight).toBe(0.01);
      const loss = trainingLoss(model, x, [c], 8).dataSync();
      const bits = bitsPerDim(model, x, 8, c).dataSync();
      const logits = model.classLogits!(model.encode(x))!.arraySync();
      const ce = (row: number[], y: number) => (Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - row[y]) / Math.LN2;
      expect(loss[0]).toBeCloseTo(bits[0] + weight * ce(logits[0], 1), 5);
      expect(loss[1]).toBeCloseTo(bits[1], 5);
      expect(loss[2]).toBeCloseTo(bits[2] + weight * ce(logits[2], 2), 5);
      expect(classCrossEntropyBits(tf.tensor2d(logits), c).dataSync()[1]).toBe(0);
      model.dispose();
    });

    it("evaluates log p(x) as the sum over classes of p(x|y) p(y), the bits given the class, and the accuracy", async () => {
      const set = labelledSet(6, 8, [0, 1, 2, 0, 1, 1]);
      const nBits = 5;
      const x = tf.tensor4d(dequantize(gatherBatch(set, [0, 1, 2, 3, 4, 5]), nBits, new Rng(11)), [6, 8, 8, 1]);
      const model = trained(config, x);
      model.classLabels = { names: ['a', 'b', 'c'], frequencies: [2 / 6, 3 / 6, 1 / 6] };
      const scores = await classScoresOfSet(model, set, { nBits, seed: 11 });
      // By hand: log p(x|y) for each class in its own pass, summed in float64.
      const perClass = [0, 1, 2].map((y) => Array.from(model.logProb(x, oneHot(Array(6).fill(y))).dataSync()));
      const dims = 8 * 8;
      const bits = (logp: number) => -logp / (dims * Math.LN2) + nBits;
      for (let i = 0; i < 6; i++) {
        const terms = [0, 1, 2].map((y) => perClass[y][i] + Math.log(model.classLabels!.frequencies[y]));
        const max = Math.max(...terms);
        const logp = max + Math.log(terms.reduce((s, t) => s + Math.exp(t - max), 0));
        expect(scores.unconditional[i]).toBeCloseTo(bits(logp), 5);
        expect(scores.conditional[i]).toBeCloseTo(bits(perClass[set.labels![i]][i]), 5);
        const best = [0, 1, 2].reduce((b, y) => (perClass[y][i] > perClass[b][i] ? y : b), 0);
        expect(scores.predicted![i]).toBe(best);
      }
      // Scored without a class (ranking, the projector, bitsPerDimOfSet), a conditional model's bits are of p(x).
      expectClose(await bitsPerDimOfSet(model, set, { nBits, seed: 11 }), scores.unconditional, 1e-5);
      const metrics = classMetrics(scores);
      const right = scores.predicted!.filter((p, i) => p === set.labels![i]).length;
      expect(metrics.accuracy).toBeCloseTo(right / 6, 12);
      // p(x) = sum_y p(x|y) p(y) <= max_y p(x|y): never fewer bits than the best class's.
      for (let i = 0; i < 6; i++) expect(scores.unconditional[i]).toBeGreaterThanOrEqual(Math.min(...[0, 1, 2].map((y) => bits(perClass[y][i]))) - 1e-9);
      model.dispose();
    });

    it('keeps its classes in model.json, and refuses a conditional model.json without them', () => {
      const x = randomInput([2, 8, 8, 1], 5, 0.2);
      const model = trained(config, x);
      model.classLabels = { names: ['a', 'b', 'c'], frequencies: [0.5, 0.25, 0.25] };
      const json = JSON.parse(JSON.stringify(modelJson(model, 8)));
      expect(json.classNames).toEqual(['a', 'b', 'c']);
      expect(json.config.classes).toBe(K);
      const loaded = loadModel(parseModelJson(json, 'model.json'), exportWeights(model), 'weights');
      expect(loaded.classLabels).toEqual(model.classLabels);
      expectClose(loaded.logProb(x, oneHot([0, 2])), model.logProb(x, oneHot([0, 2])), 0, 0);
      const withoutNames = { ...json };
      delete withoutNames.classNames;
      expect(() => parseModelJson(withoutNames, 'run/model.json')).toThrow(/run\/model\.json: "classNames" must list the model's 3 class names/);
      // A model.json from before classes: unconditional.
      const old = { ...json, config: { ...json.config } };
      for (const key of ['classNames', 'classFrequencies']) delete old[key];
      for (const key of ['classes', 'classWeight']) delete old.config[key];
      expect(parseModelJson(old, 'old/model.json').config).toMatchObject({ classes: 0 });
      model.dispose();
      loaded.dispose();
    });

    it('changes the class of an image: back to itself under its own class, another image under another', () => {
      // ActNorm starts from a batch's statistics: initialised on several images, the first is changed.
      const x = randomInput([4, 8, 8, 1], 6, 0.15);
      const model = trained(config, x);
      model.classLabels = { names: ['a', 'b', 'c'], frequencies: [1 / 3, 1 / 3, 1 / 3] };
      const pixels = Uint8Array.from(x.dataSync().subarray(0, 64), (v) => Math.max(0, Math.min(255, Math.round((v + 0.5) * 256 - 0.5))));
      const out = changeClass({ model, nBits: 8 }, pixels, 1, [1, 0, 2]);
      const per = 64;
      const back = out.subarray(per, 2 * per);
      expect(Math.max(...Array.from(out.subarray(0, per), (v, i) => Math.abs(v - pixels[i])))).toBeLessThanOrEqual(1);
      expect(Math.max(...Array.from(back, (v, i) => Math.abs(v - pixels[i])))).toBeGreaterThan(1);
      model.dispose();
    });
  });
}

describe('class rows', () => {
  it('one-hot rows, all-zero for no class, and a grid of rows per class', () => {
    expect(Array.from(oneHotRows([1, -1, 0], 2))).toEqual([0, 1, 0, 0, 1, 0]);
    expect(Array.from(classRows(2, 2))).toEqual([1, 0, 1, 0, 0, 1, 0, 1]);
  });
});
