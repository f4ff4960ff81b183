// The Lab trainer's mechanics on a model whose optimum is known in closed form: a diagonal
// Gaussian flow (one elementwise affine layer) fitted by maximum likelihood to Gaussian samples,
// and by reverse KL to a Gaussian energy. Families are tested in their own files.
import { describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { ParamStore } from '../../main/engine/flows/params.ts';
import { Rng } from '../../main/engine/random.ts';
import { cosineRate, trainLabModel, type LabFitTarget } from '../../main/engine/lab/lab-trainer.ts';
import { gaussianModel } from '../helpers/lab-gaussian.ts';
import { labSettings } from '../helpers/lab-settings.ts';
import { buildLabModel } from '../../main/engine/lab/lab-flows.ts';

const MEAN = [1.5, -2];
const STD = [0.5, 2];

const gaussianSamples: LabFitTarget = {
  kind: 'samples',
  draw: (n, rng) => {
    const out = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) for (let d = 0; d < 2; d++) out[i * 2 + d] = MEAN[d] + STD[d] * rng.normal();
    return out;
  },
};

/** U(x) = Σ (x - μ)² / 2σ², whose normalised density is N(MEAN, STD²). */
const gaussianEnergy: LabFitTarget = {
  kind: 'energy',
  energy: (x) => tf.tidy(() => tf.sum(tf.div(tf.square(tf.sub(x, MEAN)), tf.mul(2, tf.square(STD))), 1) as tf.Tensor1D),
};

async function fitted(target: LabFitTarget, objective: 'likelihood' | 'reverse-kl') {
  const store = new ParamStore();
  const model = gaussianModel(store);
  const frames: number[] = [];
  const result = await trainLabModel({ model, target, objective, steps: 600, minutes: null, batch: 256, lr: 0.05, rng: new Rng(0), onFrame: (s) => frames.push(s), frameEveryMs: 0 });
  const mu = Array.from(store.variables.get('g.mu')!.dataSync());
  const sigma = Array.from(store.variables.get('g.log_sigma')!.dataSync()).map(Math.exp);
  model.dispose();
  return { result, mu, sigma, frames };
}

/** The weights after each of `steps` steps of the Gaussian model, trained from the same start with `schedule`. */
async function weightsPerStep(schedule: 'cosine' | 'constant', steps: number): Promise<Float32Array[]> {
  const store = new ParamStore();
  const model = gaussianModel(store);
  const seen: Float32Array[] = [];
  const read = () => Float32Array.from([...store.variables.get('g.mu')!.dataSync(), ...store.variables.get('g.log_sigma')!.dataSync()]);
  seen.push(read());
  await trainLabModel({ model, target: gaussianSamples, objective: 'likelihood', steps, minutes: null, batch: 64, lr: 0.05, schedule, rng: new Rng(4), onStep: () => void seen.push(read()) });
  model.dispose();
  return seen;
}

describe('Lab trainer', () => {
  it('anneals the learning rate by a cosine from its peak to zero', () => {
    expect(cosineRate(0.01, 0)).toBeCloseTo(0.01, 12);
    expect(cosineRate(0.01, 0.5)).toBeCloseTo(0.005, 12);
    expect(cosineRate(0.01, 0.25)).toBeCloseTo(0.005 * (1 + Math.SQRT1_2), 12);
    expect(cosineRate(0.01, 1)).toBeCloseTo(0, 12);
    expect(cosineRate(0.01, 3)).toBeCloseTo(0, 12);
  });

  it('takes each step at the scheduled rate: Adam moves by rate times the same direction', async () => {
    // Same start, batches and gradients for the first step; from then on Adam's step is the rate times
    // m/(sqrt(v) + eps), the same in both runs at step 2, so the second moves' ratio is the rates' ratio.
    const constant = await weightsPerStep('constant', 4);
    const cosine = await weightsPerStep('cosine', 4);
    const move = (w: Float32Array[], k: number) => Array.from(w[k + 1], (v, i) => v - w[k][i]);
    expect(move(cosine, 0)).toEqual(move(constant, 0));
    const ratio = cosineRate(1, 1 / 4);
    move(cosine, 1).forEach((m, i) => expect(m).toBeCloseTo(ratio * move(constant, 1)[i], 6));
  });

  it('maximum likelihood finds the mean and scale of Gaussian samples', async () => {
    const { result, mu, sigma, frames } = await fitted(gaussianSamples, 'likelihood');
    expect(result).toMatchObject({ step: 600, ended: 'steps', skippedSteps: 0 });
    for (let d = 0; d < 2; d++) {
      expect(Math.abs(mu[d] - MEAN[d])).toBeLessThan(0.1 * STD[d]);
      expect(Math.abs(sigma[d] / STD[d] - 1)).toBeLessThan(0.1);
    }
    expect(frames.at(-1)).toBe(600);
  });

  it('reverse KL finds the Gaussian an energy describes', async () => {
    const { mu, sigma } = await fitted(gaussianEnergy, 'reverse-kl');
    for (let d = 0; d < 2; d++) {
      expect(Math.abs(mu[d] - MEAN[d])).toBeLessThan(0.1 * STD[d]);
      expect(Math.abs(sigma[d] / STD[d] - 1)).toBeLessThan(0.1);
    }
  });

  it('a stop request ends training between steps, and no tensor leaks', async () => {
    const store = new ParamStore();
    const model = gaussianModel(store);
    const before = tf.memory().numTensors;
    const stop = new AbortController();
    const result = await trainLabModel({
      model, target: gaussianSamples, objective: 'likelihood', steps: 10_000, minutes: null, batch: 32, lr: 0.01, rng: new Rng(1),
      signal: stop.signal, onStep: (r) => { if (r.step === 25) stop.abort(); },
    });
    expect(result).toMatchObject({ step: 25, ended: 'stopped' });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('keeps the time spent off the clock out of elapsed time and the time limit', async () => {
    const store = new ParamStore();
    const model = gaussianModel(store);
    const elapsed: number[] = [];
    // Three pauses of 1 s would end a 2.4 s budget on the clock; off it, the step count ends
    // training (three steps of this model take milliseconds, so a loaded machine has 2.4 s of slack).
    const result = await trainLabModel({
      model, target: gaussianSamples, objective: 'likelihood', steps: 3, minutes: 0.04, batch: 32, lr: 0.01, rng: new Rng(2),
      onStep: (r) => { elapsed.push(r.elapsed); },
      offClock: () => new Promise((resolve) => setTimeout(resolve, 1000)),
    });
    expect(result).toMatchObject({ step: 3, ended: 'steps' });
    expect(result.seconds).toBeLessThan(2.4);
    expect(elapsed.at(-1)).toBeLessThan(2.4);
    model.dispose();
  });

  it('refuses an objective its target cannot serve, saying which fits', async () => {
    const store = new ParamStore();
    const model = gaussianModel(store);
    await expect(trainLabModel({ model, target: gaussianEnergy, objective: 'likelihood', steps: 1, minutes: null, batch: 8, lr: 0.01, rng: new Rng(0) })).rejects.toThrow(/reverse-kl/);
    await expect(trainLabModel({ model, target: gaussianSamples, objective: 'reverse-kl', steps: 1, minutes: null, batch: 8, lr: 0.01, rng: new Rng(0) })).rejects.toThrow(/likelihood/);
    model.dispose();
  });

  it('skips steps whose loss is not finite and stops with advice when they persist', async () => {
    const store = new ParamStore();
    const model = gaussianModel(store);
    const nanSamples: LabFitTarget = { kind: 'samples', draw: (n) => new Float32Array(n * 2).fill(NaN) };
    await expect(trainLabModel({ model, target: nanSamples, objective: 'likelihood', steps: 100, minutes: null, batch: 8, lr: 0.01, rng: new Rng(0) })).rejects.toThrow(/not finite for 20 steps.*lower the learning rate/);
    expect(Array.from(store.variables.get('g.mu')!.dataSync())).toEqual([0, 0]);
    model.dispose();
  });

  it('starts ActNorm from the first batch before training by likelihood', async () => {
    const model = buildLabModel('realnvp', labSettings({ layers: 2, hidden: 8 }), 2, new Rng(0));
    const far: LabFitTarget = { kind: 'samples', draw: (n, rng) => Float32Array.from({ length: n * 2 }, () => 5 + 0.1 * rng.normal()) };
    await trainLabModel({ model, target: far, objective: 'likelihood', steps: 1, minutes: null, batch: 64, lr: 1e-6, rng: new Rng(0) });
    const ctx = { mode: 'eval' as const, rng: new Rng(0) };
    const [atData, atOrigin] = Array.from(model.logProb(tf.tensor2d([[5, 5], [0, 0]]), ctx).dataSync());
    // Without the data pass the model is near the standard normal: the origin would be far likelier.
    expect(atData).toBeGreaterThan(atOrigin + 100);
    model.dispose();
  });
});
