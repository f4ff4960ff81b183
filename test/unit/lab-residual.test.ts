// Residual flows (i-ResNet, Residual Flows): the fixed-point inverse, the exact log-determinant
// against a brute-force Jacobian, the power-series and Russian-roulette estimators' means against
// exact values, spectral norms under the bound after every step, and a short maximum-likelihood fit.
import { describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { ParamStore } from '../../main/engine/flows/params.ts';
import { identity, logAbsDeterminant, matmul, type Matrix } from '../../main/engine/flows/linalg.ts';
import { Rng } from '../../main/engine/random.ts';
import { checkSettings } from '../../common/settings/check.ts';
import { labFields, type LabSettings } from '../../common/lab/lab-fields.ts';
import { buildLabModel } from '../../main/engine/lab/lab-flows.ts';
import type { LabModel } from '../../main/engine/lab/lab-model.ts';
import { ResidualBlock } from '../../main/engine/lab/residual/residual-block.ts';
import type { LayerContext } from '../../main/engine/lab/vector-layer.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { bruteForceJacobian } from '../helpers/jacobian.ts';
import { largestSingularValue } from '../helpers/singular-value.ts';

function settingsWith(overrides: Partial<LabSettings>): LabSettings {
  const checked = checkSettings<LabSettings>(labFields, overrides, 'person');
  if (!checked.ok) throw new Error(checked.problem.describe(checked.problem.field));
  return checked.value;
}

const ctx = (mode: LayerContext['mode'], seed = 0): LayerContext => ({ mode, rng: new Rng(seed) });

function normalRows(n: number, dim: number, rng: Rng, std = 1): tf.Tensor2D {
  return tf.tensor2d(rng.fillNormal(new Float32Array(n * dim), std), [n, dim]);
}

/** Four tight Gaussians at (±2, ±2): far from the base, so a fit has nats to win. */
function mixture(n: number, rng: Rng): tf.Tensor2D {
  const values = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    values[2 * i] = (rng.next() < 0.5 ? -2 : 2) + 0.3 * rng.normal();
    values[2 * i + 1] = (rng.next() < 0.5 ? -2 : 2) + 0.3 * rng.normal();
  }
  return tf.tensor2d(values, [n, 2]);
}

/** Adam steps of maximum likelihood, each followed by the model's projection. */
function train(model: LabModel, optimizer: tf.Optimizer, steps: number, rng: Rng, afterStep: () => void = () => {}): void {
  const variables = [...model.params.variables.values()];
  const train = ctx('train', 7);
  for (let step = 0; step < steps; step++) {
    const batch = mixture(64, rng);
    optimizer.minimize(() => model.dataLoss(batch, train), false, variables);
    batch.dispose();
    model.constrain();
    afterStep();
  }
}

/** The block's Jacobian J_g = ∂y/∂x - I at one row, in float64. */
function branchJacobian(block: ResidualBlock, row: tf.Tensor2D): Matrix {
  const full = bruteForceJacobian((x: tf.Tensor2D) => block.forward(x, ctx('eval')).out, row);
  const eye = identity(full.n);
  return { n: full.n, data: full.data.map((v, i) => v - eye.data[i]) };
}

function trace(m: Matrix): number {
  let t = 0;
  for (let i = 0; i < m.n; i++) t += m.data[i * m.n + i];
  return t;
}

function meanAndStandardError(values: ArrayLike<number>): { mean: number; se: number } {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  const mean = sum / values.length;
  let sq = 0;
  for (let i = 0; i < values.length; i++) sq += (values[i] - mean) ** 2;
  return { mean, se: Math.sqrt(sq / (values.length - 1) / values.length) };
}

describe('Lab residual flows', () => {
  for (const dim of [2, 5, 10]) {
    it(`inverts by fixed-point iteration to 1e-3, with matching log-densities (D = ${dim})`, () => {
      const rng = new Rng(dim);
      const model = buildLabModel('residual', settingsWith({ layers: 4, hidden: 32, lipschitz: 0.97 }), dim, rng);
      const x = normalRows(64, dim, rng, 2);
      const toBase = model.stages(x, 'to-base', ctx('eval'));
      const z = toBase[toBase.length - 1];
      const back = model.stages(z, 'to-data', ctx('eval'));
      expectClose(back[back.length - 1], x, 1e-3);
      if (dim <= 8) {
        // Exact log-determinants in evaluation: sampling's log q equals the density's.
        expectClose(model.sample(64, ctx('eval'), z).logProb, model.logProb(x, ctx('eval')), 1e-3);
      }
      tf.dispose([x, ...toBase, ...back]);
      model.dispose();
    });
  }

  for (const dim of [2, 3, 5]) {
    it(`exact log-determinant equals the brute-force Jacobian's (D = ${dim})`, () => {
      const rng = new Rng(10 + dim);
      const store = new ParamStore();
      const block = new ResidualBlock(store.scope('b'), dim, settingsWith({ hidden: 16, lipschitz: 0.97, logDetEstimator: 'exact' }), rng);
      const x = normalRows(4, dim, rng);
      const trained = block.forward(x, ctx('train')).logDet.dataSync();
      const evaluated = block.forward(x, ctx('eval')).logDet.dataSync();
      for (let r = 0; r < 4; r++) {
        const row = tf.slice(x, [r, 0], [1, dim]);
        const reference = logAbsDeterminant(bruteForceJacobian((input: tf.Tensor2D) => block.forward(input, ctx('eval')).out, row));
        expectClose(trained[r], reference, 1e-4);
        expectClose(evaluated[r], reference, 1e-4);
      }
      store.dispose();
    });
  }

  it('the Hutchinson power series is unbiased for the truncated series', () => {
    const rng = new Rng(21);
    const store = new ParamStore();
    const terms = 3;
    const settings = settingsWith({ hidden: 16, netDepth: 1, lipschitz: 0.97, logDetEstimator: 'power-series', seriesTerms: terms });
    const block = new ResidualBlock(store.scope('b'), 3, settings, rng);
    const row = tf.tensor2d([[0.4, -0.8, 0.3]]);
    const j = branchJacobian(block, row);
    let truncated = 0;
    let power = identity(3);
    for (let k = 1; k <= terms; k++) {
      power = matmul(power, j);
      truncated += ((k % 2 === 1 ? 1 : -1) / k) * trace(power);
    }
    const draws = block.forward(tf.tile(row, [20_000, 1]) as tf.Tensor2D, ctx('train', 3)).logDet.dataSync();
    const { mean, se } = meanAndStandardError(draws);
    expect(se).toBeGreaterThan(0);
    expect(Math.abs(mean - truncated)).toBeLessThan(3 * se);
    store.dispose();
  });

  it('the Russian roulette is unbiased for log det itself, where the truncated series is not', () => {
    const rng = new Rng(22);
    const store = new ParamStore();
    const sureTerms = 1;
    const roulette = settingsWith({ hidden: 16, netDepth: 1, lipschitz: 0.97, logDetEstimator: 'russian-roulette', seriesTerms: sureTerms });
    const block = new ResidualBlock(store.scope('b'), 3, roulette, rng);
    const row = tf.tensor2d([[0.4, -0.8, 0.3]]);
    const exact = logAbsDeterminant(bruteForceJacobian((x: tf.Tensor2D) => block.forward(x, ctx('eval')).out, row));
    // One coin-flip sequence per call, shared by its rows: the calls are the independent draws.
    const rows = tf.tile(row, [10, 1]) as tf.Tensor2D;
    const train = ctx('train', 4);
    const callMeans = new Float64Array(2_000);
    for (let c = 0; c < callMeans.length; c++) {
      callMeans[c] = tf.tidy(() => tf.mean(block.forward(rows, train).logDet).dataSync()[0]);
    }
    const { mean, se } = meanAndStandardError(callMeans);
    expect(Math.abs(mean - exact)).toBeLessThan(3 * se);
    // The check can tell: the series cut after the sure terms misses log det by far more than 3 SE.
    const cut = trace(branchJacobian(block, row));
    expect(Math.abs(cut - exact)).toBeGreaterThan(3 * se);
    store.dispose();
  });

  it('spectral norms stay under the Lipschitz bound (exact SVD) after each of 50 steps at a high learning rate', () => {
    const rng = new Rng(5);
    const bound = 0.8;
    const model = buildLabModel('residual', settingsWith({ layers: 2, hidden: 16, lipschitz: bound }), 2, rng);
    const weights = [...model.params.variables].filter(([name]) => /\.net\.w\d+$/.test(name)).map(([, w]) => w);
    expect(weights).toHaveLength(2 * 3);
    let worst = 0;
    const check = () => {
      for (const w of weights) {
        const [rows, cols] = w.shape as [number, number];
        worst = Math.max(worst, largestSingularValue(w.dataSync(), rows, cols));
      }
      expect(worst).toBeLessThanOrEqual(bound);
    };
    check();
    const optimizer = tf.train.adam(0.1);
    train(model, optimizer, 50, rng, check);
    // The projection did act: the largest weights sit just under the bound.
    expect(worst).toBeGreaterThan(0.99 * bound);
    optimizer.dispose();
    model.dispose();
  });

  it('refuses the exact estimator above 8 dimensions, naming the setting', () => {
    expect(() => buildLabModel('residual', settingsWith({ logDetEstimator: 'exact' }), 9, new Rng(0))).toThrow(/logDetEstimator 'exact'.*9/);
  });

  it('300 steps of maximum likelihood lower the test NLL by at least 1 nat; the density integrates to 1; no tensor leaks', () => {
    const rng = new Rng(11);
    // Trained with the default estimator (Russian roulette), kept small: every op counts on a loaded CPU.
    const model = buildLabModel('residual', settingsWith({ layers: 2, hidden: 16, lipschitz: 0.9, seriesTerms: 2 }), 2, rng);
    const test = mixture(2_000, new Rng(99));
    const nll = () => tf.tidy(() => tf.neg(tf.mean(model.logProb(test, ctx('eval')))).dataSync()[0]);
    const before = nll();
    const optimizer = tf.train.adam(0.01);
    train(model, optimizer, 1, rng); // Adam makes its moment variables on the first step
    const tensors = tf.memory().numTensors;
    train(model, optimizer, 299, rng);
    expect(tf.memory().numTensors).toBe(tensors);
    const after = nll();
    expect(before - after).toBeGreaterThanOrEqual(1);

    // Riemann sum of q over [-6, 6]² (the data lie within ±3), exact log-determinants.
    const side = 121;
    const step = 12 / (side - 1);
    const grid = new Float32Array(side * side * 2);
    for (let i = 0; i < side; i++) {
      for (let j = 0; j < side; j++) {
        grid[2 * (i * side + j)] = -6 + i * step;
        grid[2 * (i * side + j) + 1] = -6 + j * step;
      }
    }
    const mass = tf.tidy(() => tf.sum(tf.exp(model.logProb(tf.tensor2d(grid, [side * side, 2]), ctx('eval')))).dataSync()[0] * step * step);
    expect(Math.abs(mass - 1)).toBeLessThan(0.01);
    optimizer.dispose();
    test.dispose();
    model.dispose();
  });
});
