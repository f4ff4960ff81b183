// Continuous flows (FFJORD, flow matching): the ODE's inverse, its log-density against closed forms
// (a linear field) and against the brute-force Jacobian of the solved map, the Hutchinson estimate's
// unbiasedness, and short trainings that lower test NLL and leave a density that integrates to 1.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { ParamStore } from '../../main/engine/flows/params.ts';
import { gaussianWeights } from '../../main/engine/flows/init.ts';
import { Rng } from '../../main/engine/random.ts';
import { buildLabModel } from '../../main/engine/lab/lab-flows.ts';
import type { LabModel } from '../../main/engine/lab/lab-model.ts';
import type { LayerContext } from '../../main/engine/lab/vector-layer.ts';
import { normalLogProb } from '../../main/engine/lab/normal.ts';
import { ContinuousFlow } from '../../main/engine/lab/flows/continuous-flow.ts';
import type { VelocityField } from '../../main/engine/lab/flows/velocity-field.ts';
import type { LabSettings } from '../../common/lab/lab-fields.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { bruteForceRowLogDets } from '../helpers/jacobian.ts';
import { labSettings } from '../helpers/lab-settings.ts';

const evalCtx = (seed = 0): LayerContext => ({ mode: 'eval', rng: new Rng(seed) });
const trainCtx = (seed = 0): LayerContext => ({ mode: 'train', rng: new Rng(seed) });

function points(n: number, rng: Rng, scale = 1): tf.Tensor2D {
  return tf.tensor2d(rng.fillNormal(new Float32Array(n * 2), scale), [n, 2]);
}

/** Random weights everywhere (the last layer starts at zero, which would make every flow the identity). */
function randomizeWeights(model: LabModel, seed: number, std = 0.6): void {
  const rng = new Rng(seed);
  for (const v of model.params.variables.values()) {
    const w = gaussianWeights(v.shape, std, rng);
    v.assign(w);
    w.dispose();
  }
}

/** Two Gaussians of standard deviation 0.4 at ±(2, 1): a 2-D mixture far from the base's mode. */
function mixture(n: number, rng: Rng): tf.Tensor2D {
  const values = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const side = rng.next() < 0.5 ? -1 : 1;
    values[2 * i] = 2 * side + 0.4 * rng.normal();
    values[2 * i + 1] = side + 0.4 * rng.normal();
  }
  return tf.tensor2d(values, [n, 2]);
}

function meanNll(model: LabModel, x: tf.Tensor2D): number {
  return tf.tidy(() => -tf.mean(model.logProb(x, evalCtx())).dataSync()[0]);
}

function train(model: LabModel, steps: number, lr: number, batch: number, seed: number): void {
  const rng = new Rng(seed);
  const ctx: LayerContext = { mode: 'train', rng };
  const optimizer = tf.train.adam(lr);
  for (let i = 0; i < steps; i++) {
    const x = mixture(batch, rng);
    optimizer.minimize(() => model.dataLoss(x, ctx));
    x.dispose();
  }
  optimizer.dispose();
}

/** The same weights under other settings (another solver or step count), as a stored model reopened. */
function withSettings(model: LabModel, overrides: Partial<LabSettings>): LabModel {
  const copy = buildLabModel(model.flow, { ...model.settings, ...overrides }, model.dim, new Rng(0));
  for (const [name, v] of model.params.variables) copy.params.variables.get(name)!.assign(v);
  return copy;
}

/** v(x, t) = A x, whose flow is x(1) = exp(A) x(0) with log-determinant tr A. */
class LinearField implements VelocityField {
  private readonly aT: tf.Tensor2D;
  constructor(readonly a: number[][]) {
    this.aT = tf.transpose(tf.tensor2d(a));
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(x, this.aT);
  }
  jvp(x: tf.Tensor2D, _t: tf.Tensor2D, tangent: tf.Tensor2D): { y: tf.Tensor2D; jv: tf.Tensor2D } {
    return { y: this.apply(x), jv: tf.matMul(tangent, this.aT) };
  }
}

/** exp(A) of a 2x2 matrix by its Taylor series in float64. */
function expm2(a: number[][]): number[][] {
  let term = [[1, 0], [0, 1]];
  const sum = [[1, 0], [0, 1]];
  for (let k = 1; k < 30; k++) {
    term = [0, 1].map((i) => [0, 1].map((j) => (term[i][0] * a[0][j] + term[i][1] * a[1][j]) / k));
    for (const i of [0, 1]) for (const j of [0, 1]) sum[i][j] += term[i][j];
  }
  return sum;
}

const SOLVERS: readonly Partial<LabSettings>[] = [{ solver: 'rk4', odeSteps: 16 }, { solver: 'dopri5', tolerance: 1e-6 }];

describe('Continuous flows through the ODE', () => {
  for (const flow of ['ffjord', 'flow-matching'] as const) {
    for (const solver of SOLVERS) {
      it(`${flow} (${solver.solver}): sampling inverts the density direction to 1e-3, and stages run between them`, () => {
        const settings = labSettings({ hidden: 16, ...solver });
        const model = buildLabModel(flow, settings, 2, new Rng(1));
        randomizeWeights(model, 2);
        const x = points(16, new Rng(3), 1.5);
        const toBase = model.stages(x, 'to-base', evalCtx());
        expect(toBase).toHaveLength(settings.odeSteps + 1);
        expectClose(toBase[0], x, 0);
        const z = toBase[toBase.length - 1];
        expect(tf.max(tf.abs(tf.sub(z, x))).dataSync()[0]).toBeGreaterThan(0.1);
        expectClose(model.sample(16, evalCtx(), z).x, x, 1e-3);
        expectClose(model.stages(z, 'to-data', evalCtx()).at(-1)!, x, 1e-3);
        model.dispose();
      });
    }
  }

  for (const solver of SOLVERS) {
    it(`a linear field A x (${solver.solver}): x(1) = exp(A) x(0) and log q(x) = log N(exp(-A) x) - tr A, to 1e-3`, () => {
      const a = [[0.3, -0.8], [0.5, -0.6]];
      const model = new ContinuousFlow('ffjord', 2, labSettings(solver), new ParamStore(), new LinearField(a));
      const z = points(8, new Rng(4));
      const expA = expm2(a);
      const { x, logProb } = model.sample(8, evalCtx(), z);
      expectClose(x, tf.matMul(z, tf.transpose(tf.tensor2d(expA))), 1e-3);
      const trace = a[0][0] + a[1][1];
      expectClose(logProb, tf.sub(normalLogProb(z), trace), 1e-3);
      const back = tf.matMul(x, tf.transpose(tf.tensor2d(expm2(a.map((row) => row.map((v) => -v))))));
      expectClose(model.logProb(x, evalCtx()), tf.sub(normalLogProb(back as tf.Tensor2D), trace), 1e-3);
    });
  }

  it('log q(x) of a nonlinear field equals log N(z) + log|det ∂z/∂x| of the solved map (brute-force Jacobian), to 1e-3', () => {
    const model = buildLabModel('ffjord', labSettings({ hidden: 16, solver: 'rk4', odeSteps: 16 }), 2, new Rng(5));
    randomizeWeights(model, 6);
    const x = points(3, new Rng(7), 1.5);
    const toBase = (row: tf.Tensor2D): tf.Tensor2D => model.stages(row, 'to-base', evalCtx()).at(-1)!;
    const logDets = bruteForceRowLogDets(toBase, x);
    const reference = tf.add(normalLogProb(toBase(x)), tf.tensor1d(logDets));
    expect(Math.max(...logDets.map(Math.abs))).toBeGreaterThan(0.05);
    expectClose(model.logProb(x, evalCtx()), reference, 1e-3);
    model.dispose();
  });

  it('the Hutchinson log-density of training is unbiased: its mean over probes is the exact one within 3 standard errors', () => {
    const model = buildLabModel('ffjord', labSettings({ hidden: 16, solver: 'rk4', odeSteps: 2 }), 2, new Rng(8));
    randomizeWeights(model, 9);
    const probes = 2000;
    const x = tf.tile(tf.tensor2d([[0.7, -1.2]]), [probes, 1]) as tf.Tensor2D;
    const exact = model.logProb(tf.tensor2d([[0.7, -1.2]]), evalCtx()).dataSync()[0];
    const estimates = Array.from(model.logProb(x, trainCtx(10)).dataSync());
    const mean = estimates.reduce((s, v) => s + v, 0) / probes;
    const variance = estimates.reduce((s, v) => s + (v - mean) ** 2, 0) / (probes - 1);
    const se = Math.sqrt(variance / probes);
    expect(se).toBeGreaterThan(0);
    expect(Math.abs(mean - exact)).toBeLessThan(3 * se);
    model.dispose();
  });

  it('velocity(x, t) is the field the ODE follows: one Euler step of the sampler moves by it', () => {
    const model = buildLabModel('flow-matching', labSettings({ hidden: 16, solver: 'euler', odeSteps: 1 }), 2, new Rng(11));
    randomizeWeights(model, 12);
    const z = points(5, new Rng(13));
    expectClose(model.sample(5, evalCtx(), z).x, tf.add(z, model.velocity!(z, 0)), 1e-5);
    model.dispose();
  });
});

describe('Continuous flows trained briefly on a 2-D mixture', () => {
  const trained = new Map<string, { model: LabModel; before: number; after: number }>();
  const test = mixture(1000, new Rng(100));

  beforeAll(() => {
    const runs = [
      { flow: 'ffjord', steps: 100, batch: 64 },
      { flow: 'flow-matching', steps: 300, batch: 128 },
    ] as const;
    for (const { flow, steps, batch } of runs) {
      const model = buildLabModel(flow, labSettings({ hidden: 16, netDepth: 2, solver: 'rk4', odeSteps: 2 }), 2, new Rng(20));
      const before = meanNll(model, test);
      train(model, steps, 1e-2, batch, 21);
      trained.set(flow, { model, before, after: meanNll(model, test) });
    }
  });

  for (const flow of ['ffjord', 'flow-matching']) {
    it(`${flow} lowers test NLL by at least 1 nat`, () => {
      const { before, after } = trained.get(flow)!;
      expect(before - after).toBeGreaterThanOrEqual(1);
    });

    // Trained with 2 RK4 steps, evaluated with 8: the density is that of the discretised flow, whose
    // log-determinant matches the integrated trace only up to the solver's error.
    it(`${flow}: the trained exact density integrates to 1 ± 0.01 on a grid over [-6, 6]²`, () => {
      const model = withSettings(trained.get(flow)!.model, { odeSteps: 8 });
      const side = 48;
      const cell = 12 / side;
      const grid = new Float32Array(side * side * 2);
      for (let i = 0; i < side; i++) {
        for (let j = 0; j < side; j++) {
          grid[2 * (i * side + j)] = -6 + (i + 0.5) * cell;
          grid[2 * (i * side + j) + 1] = -6 + (j + 0.5) * cell;
        }
      }
      const mass = tf.tidy(() => tf.sum(tf.exp(model.logProb(tf.tensor2d(grid, [side * side, 2]), evalCtx()))).dataSync()[0] * cell * cell);
      model.dispose();
      expect(Math.abs(mass - 1)).toBeLessThan(0.01);
    });
  }

  it('training, sampling, stages and velocity leave no tensor behind', () => {
    const { model } = trained.get('ffjord')!;
    const before = tf.memory().numTensors;
    train(model, 2, 1e-3, 32, 30);
    tf.dispose(model.sample(16, trainCtx(31)));
    tf.dispose(model.stages(test, 'to-data', evalCtx()));
    model.velocity!(test, 0.5).dispose();
    const fm = trained.get('flow-matching')!.model;
    train(fm, 2, 1e-3, 32, 32);
    expect(tf.memory().numTensors).toBe(before);
  });
});
