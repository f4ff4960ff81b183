// Flows trained for restoration (issue 17, way 2): at a fixed observation y a conditional Glow or
// RealNVP is invertible with the log-determinant of its Jacobian; y changes the transform; the
// degradation values travel as step inputs and scoring noise; restoreTask none is today's model.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import '@tensorflow/tfjs-backend-cpu';
import type { ModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { scoringNoiseOf, stepInputsOf, trainingLoss } from '../../main/engine/models/flow-model.ts';
import type { MultiscaleFlow } from '../../main/engine/models/multiscale-flow.ts';
import { Rng } from '../../main/engine/random.ts';
import { degradedObservation, inpaintObservation, upscaleObservation } from '../../main/engine/restore/observation.ts';
import { downsampleBox } from '../../main/engine/restore/box-average.ts';
import { drawValues } from '../../main/engine/train/batches.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { bruteForceLogDet } from '../helpers/jacobian.ts';
import { perturb, randomInput } from '../helpers/perturb.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Tiny enough for a brute-force Jacobian: 4 x 4 x 3 = 48 values. */
const tiny: [string, ModelConfig][] = [
  ['Glow', { kind: 'glow', size: 4, channels: 3, levels: 2, depth: 2, hidden: 8 }],
  ['RealNVP', { kind: 'realnvp', size: 4, channels: 3, levels: 2, depth: 1, hidden: 8 }],
];
const tasks = ['upscale-2', 'upscale-4', 'inpaint'] as const;

/**
 * A model of `task` initialised on 16 images (ActNorm's statistics need more than one at the 1 x 1
 * top), every weight moved off its start by `scale`: past about 0.05 this tiny Glow's 1x1
 * convolutions grow ill-conditioned, and even the unconditional one inverts only to 1e-3.
 */
function flowOf(config: ModelConfig, task: (typeof tasks)[number] | 'none', scale: number): MultiscaleFlow {
  const model = createModel({ ...config, restoreTask: task } as ModelConfig, 0) as MultiscaleFlow;
  model.initialise(randomInput([16, 4, 4, 3], 20, 0.2));
  perturb(model.params, scale);
  return model;
}

/** n images' observations of `task`, from their own degradation values. */
function observationOf(model: MultiscaleFlow, x: tf.Tensor4D, seed: number): tf.Tensor4D {
  const [values] = drawValues(scoringNoiseOf(model), x.shape[0], new Rng(seed));
  return degradedObservation(model.config.kind === 'glow' || model.config.kind === 'realnvp' ? model.config.restoreTask : 'none', x, tf.tensor2d(values, [x.shape[0], values.length / x.shape[0]]));
}

function flat(zs: tf.Tensor4D[]): tf.Tensor {
  return tf.concat(zs.map((z) => tf.reshape(z, [z.shape[0], -1])), 1);
}

for (const [name, config] of tiny) {
  for (const task of tasks) {
    describe(`${name} trained for ${task}`, () => {
      it('at a fixed y, inverts exactly and its log-determinant is the Jacobian\'s', () => {
        const x = randomInput([1, 4, 4, 3], 3, 0.2);
        const model = flowOf(config, task, 0.03);
        const y = observationOf(model, randomInput([1, 4, 4, 3], 4, 0.2), 5);
        const out = model.forwardGiven(x, y);
        expectClose(model.decodeGiven(out.zs, y), x, 1e-4, 1e-4);
        const brute = bruteForceLogDet((v) => flat(model.forwardGiven(v, y).zs), x);
        expect(out.logdet.dataSync()[0]).toBeCloseTo(brute, 3);
        model.dispose();
      });

      it('changes with y, and its step input and scoring noise are the degradation values', () => {
        const x = randomInput([2, 4, 4, 3], 6, 0.2);
        const model = flowOf(config, task, 0.1);
        const a = model.forwardGiven(x, observationOf(model, x, 1));
        const b = model.forwardGiven(x, observationOf(model, randomInput([2, 4, 4, 3], 9, 0.2), 2));
        expect(tf.max(tf.abs(tf.sub(flat(a.zs), flat(b.zs)))).dataSync()[0]).toBeGreaterThan(1e-3);
        const values = task === 'inpaint' ? 16 : task === 'upscale-2' ? 2 * 2 * 3 : 3;
        expect(stepInputsOf(model)).toEqual([{ name: 'noise/0', values }]);
        // The training loss is bits per dim of p(x | y), y made from x and the step's values.
        const [noise] = drawValues(scoringNoiseOf(model), 2, new Rng(7));
        const inputs = [tf.tensor2d(noise, [2, values])];
        const { logdet, logpz } = model.forwardGiven(x, degradedObservation(task, x, inputs[0]));
        const bits = tf.add(tf.div(tf.add(logdet, logpz), -48 * Math.LN2), 8);
        expectClose(trainingLoss(model, x, inputs, 8), bits, 1e-5, 1e-5);
        model.dispose();
      });
    });
  }

  it(`${name} with restoreTask none is the unconditional model, weight for weight`, () => {
    const plain = createModel(config, 0);
    const none = createModel({ ...config, restoreTask: 'none' } as ModelConfig, 0);
    expect([...none.params.variables.keys()]).toEqual([...plain.params.variables.keys()]);
    for (const [key, v] of plain.params.variables) expectClose(none.params.variables.get(key)!, v, 0, 0);
    expect([...none.params.variables.keys()].some((k) => k.startsWith('observation.'))).toBe(false);
    expect(stepInputsOf(none)).toEqual([]);
    plain.dispose();
    none.dispose();
  });
}

describe('the observation', () => {
  it('of upscaling is the box average lifted to full size, with at most half an 8-bit level of rounding', () => {
    const x = randomInput([2, 4, 4, 3], 11, 0.2);
    const [values] = drawValues([{ values: 2 * 2 * 3, distribution: 'uniform' }], 2, new Rng(1));
    const y = degradedObservation('upscale-2', x, tf.tensor2d(values, [2, 12]));
    const small = downsampleBox(x.dataSync(), { n: 2, size: 4, channels: 3, factor: 2 });
    const lifted = upscaleObservation(tf.tensor4d(Float32Array.from(small), [2, 2, 2, 3]), 2);
    expectClose(y, lifted, 0.5 / 256 + 1e-6, 0);
    expect(tf.max(tf.abs(tf.sub(y, lifted))).dataSync()[0]).toBeGreaterThan(0);
  });

  it('of inpainting zeroes the hole and adds the mask; without values nothing is observed', () => {
    const x = randomInput([1, 4, 4, 1], 12, 0.2);
    const mask = tf.tensor4d(Float32Array.from({ length: 16 }, (_, i) => (i < 8 ? 1 : 0)), [1, 4, 4, 1]);
    const y = inpaintObservation(x, mask).dataSync();
    const pixels = x.dataSync();
    for (let p = 0; p < 16; p++) {
      expect(y[2 * p]).toBeCloseTo(p < 8 ? pixels[p] : 0, 6);
      expect(y[2 * p + 1]).toBe(p < 8 ? 1 : 0);
    }
    expectClose(degradedObservation('inpaint', x), tf.zeros([1, 4, 4, 2]), 0, 0);
  });

  it('of inpainting draws one rectangle hole per image, from a quarter to three quarters of the side', () => {
    const [masks] = drawValues([{ values: 64, distribution: 'hole-mask' }], 20, new Rng(3));
    const areas = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const m = masks.subarray(i * 64, (i + 1) * 64);
      const hole = [...m.keys()].filter((p) => m[p] === 0);
      const rows = hole.map((p) => Math.floor(p / 8));
      const cols = hole.map((p) => p % 8);
      const h = Math.max(...rows) - Math.min(...rows) + 1;
      const w = Math.max(...cols) - Math.min(...cols) + 1;
      expect(hole.length).toBe(h * w);
      expect(Math.min(h, w)).toBeGreaterThanOrEqual(2);
      expect(Math.max(h, w)).toBeLessThanOrEqual(6);
      areas.add(hole.length);
    }
    expect(areas.size).toBeGreaterThan(3);
  });
});

describe('restoreTask refusals', () => {
  it('names the setting for a size the factor does not divide, and for a run with classes', () => {
    expect(() => createModel({ kind: 'glow', size: 6, channels: 1, levels: 1, depth: 1, hidden: 8, restoreTask: 'upscale-4' }, 0)).toThrow(/restoreTask upscale-4 needs an image size divisible by 4; the size is 6/);
    expect(() => createModel({ kind: 'glow', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8, restoreTask: 'inpaint', classes: 3 }, 0)).toThrow(/restoreTask inpaint trains on an unlabelled set/);
  });
});
