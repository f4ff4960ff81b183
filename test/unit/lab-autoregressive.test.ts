// MADE masks and the autoregressive layer in both directions (MAF, IAF) with affine and spline
// transforms: triangular Jacobians, exact inverses, log-dets against autodiff, MAF and IAF of one
// set of weights as each other's inverse, normalised densities, and short maximum-likelihood runs.
import { describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { ParamStore } from '../../main/engine/flows/params.ts';
import { Rng } from '../../main/engine/random.ts';
import { checkSettings } from '../../common/settings/check.ts';
import { labFields, type LabSettings } from '../../common/lab/lab-fields.ts';
import type { LabFlowName } from '../../common/lab/lab-catalog.ts';
import { AutoregressiveLayer, type AutoregressiveDirection } from '../../main/engine/lab/autoregressive.ts';
import type { ElementwiseTransform } from '../../main/engine/lab/elementwise.ts';
import { buildLabModel } from '../../main/engine/lab/lab-flows.ts';
import type { LabModel } from '../../main/engine/lab/lab-model.ts';
import type { LayerStack } from '../../main/engine/lab/layer-stack.ts';
import { madeMasks, orderDegrees } from '../../main/engine/lab/made.ts';
import { Mlp } from '../../main/engine/lab/mlp.ts';
import { normalLogProb } from '../../main/engine/lab/normal.ts';
import { AffineTransform } from '../../main/engine/lab/transforms/affine.ts';
import { PiecewiseLinearSpline } from '../../main/engine/lab/transforms/piecewise-linear.ts';
import { RationalQuadraticSpline } from '../../main/engine/lab/transforms/rational-quadratic.ts';
import type { LayerContext } from '../../main/engine/lab/vector-layer.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { bruteForceBatchRowLogDets, rowJacobians } from '../helpers/jacobian.ts';
import { labSettings } from '../helpers/lab-settings.ts';

function settings(overrides: Partial<LabSettings>): LabSettings {
  const checked = checkSettings<LabSettings>(labFields, overrides, 'person');
  if (!checked.ok) throw new Error(checked.problem.describe('setting'));
  return checked.value;
}

function evalCtx(seed = 0): LayerContext {
  return { mode: 'eval', rng: new Rng(seed) };
}

function normalRows(n: number, d: number, rng: Rng, std = 1): tf.Tensor2D {
  return tf.tensor2d(rng.fillNormal(new Float32Array(n * d), std), [n, d]);
}

/** Moves every weight off its start (the MADE's last layer starts at zero) so the maps are not near the identity. */
function perturb(params: ParamStore, rng: Rng, std: number): void {
  for (const v of params.variables.values()) v.assign(tf.add(v, tf.tensor(rng.fillNormal(new Float32Array(v.size), std), v.shape)));
}

const TRANSFORMS: [string, () => ElementwiseTransform][] = [
  ['affine', () => new AffineTransform()],
  ['rational-quadratic', () => new RationalQuadraticSpline(5, 3)],
  ['piecewise-linear', () => new PiecewiseLinearSpline(5, 3)],
];

describe('MADE masks', () => {
  for (const degrees of [orderDegrees(5, false), orderDegrees(5, true), Int32Array.from([3, 1, 5, 2, 4])]) {
    it(`make each output depend only on earlier inputs (degrees ${degrees.join(',')})`, () => {
      const perDim = 3;
      const store = new ParamStore();
      const masks = madeMasks(degrees, [12, 12], perDim);
      const mlp = new Mlp(store.scope('made'), [5, 12, 12, 5 * perDim], 'tanh', new Rng(1), { masks });
      const x = normalRows(3, 5, new Rng(2));
      for (let o = 0; o < 5 * perDim; o++) {
        const grad = tf.grad((input: tf.Tensor) => tf.sum(tf.slice(mlp.apply(input as tf.Tensor2D), [0, o], [3, 1])))(x).arraySync() as number[][];
        const own = degrees[Math.floor(o / perDim)];
        for (let j = 0; j < 5; j++) {
          const size = Math.max(...grad.map((row) => Math.abs(row[j])));
          // Strictly earlier inputs are reached (hidden layers of width ≥ D-1 keep every path), others never.
          if (degrees[j] < own) expect(size).toBeGreaterThan(1e-6);
          else expect(size).toBe(0);
        }
      }
      masks.forEach((m) => m.dispose());
      store.dispose();
    });
  }
});

describe('autoregressive layer', () => {
  for (const [name, transformOf] of TRANSFORMS) {
    for (const direction of ['maf', 'iaf'] as AutoregressiveDirection[]) {
      for (const dim of [2, 5]) {
        it(`${direction} with ${name} in ${dim}-D: exact inverse, triangular Jacobian, log-dets as autodiff`, () => {
          const rng = new Rng(dim);
          const store = new ParamStore();
          const degrees = Int32Array.from(rng.permutation(dim), (p) => p + 1);
          const layer = new AutoregressiveLayer(store.scope('ar'), { transform: transformOf(), direction, degrees, hidden: 16, netDepth: 2 }, rng);
          // Moderate weights: far larger ones flatten spline bins to slopes near 1e-3, where float32 cannot hold the inverse to 1e-4.
          perturb(store, rng, 0.2);
          const ctx = evalCtx();
          // Some points beyond the splines' bound of 3, for their identity tails.
          const x = normalRows(30, dim, rng, 2);
          const fwd = layer.forward(x, ctx);
          const back = layer.inverse(fwd.out, ctx);
          expectClose(back.out, x, 1e-4);
          expectClose(back.logDet, tf.neg(fwd.logDet), 1e-4, 1e-5);
          for (const dir of ['forward', 'inverse'] as const) {
            const fn = (v: tf.Tensor2D): tf.Tensor2D => layer[dir](v, ctx).out;
            expectClose(layer[dir](x, ctx).logDet, bruteForceBatchRowLogDets(fn, x), 2e-4, 1e-5);
          }
          // Output i never depends on an input later in the order.
          for (const jac of rowJacobians((v) => layer.forward(v, ctx).out, x.slice([0, 0], [3, dim]))) {
            for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) if (degrees[j] > degrees[i]) expect(jac[i * dim + j]).toBe(0);
          }
          store.dispose();
        });
      }
    }
  }
});

describe('autoregressive families', () => {
  const FAMILIES: [LabFlowName, Partial<LabSettings>][] = [
    ['maf', {}],
    ['iaf', {}],
    ['spline-autoregressive', { spline: 'rational-quadratic' }],
    ['spline-autoregressive', { spline: 'piecewise-linear' }],
  ];

  for (const [flow, extra] of FAMILIES) {
    for (const dim of [2, 5]) {
      it(`${flow} ${extra.spline ?? ''} in ${dim}-D: sample and logProb agree, log-density as autodiff`, () => {
        const rng = new Rng(10 + dim);
        const model = buildLabModel(flow, settings({ layers: 3, hidden: 16, netDepth: 1, bins: 5, tailBound: 3, ...extra }), dim, rng);
        perturb(model.params, rng, 0.3);
        const ctx = evalCtx();
        const z = normalRows(25, dim, rng, 1.5);
        const { x, logProb } = model.sample(25, ctx, z);
        expectClose(model.logProb(x, ctx), logProb, 1e-3, 1e-5);
        const stages = model.stages(x, 'to-base', ctx);
        expect(stages).toHaveLength(4);
        expectClose(stages[3], z, 1e-4);
        const toBase = (v: tf.Tensor2D): tf.Tensor2D => { const s = model.stages(v, 'to-base', ctx); return s[s.length - 1]; };
        expectClose(tf.sub(model.logProb(x, ctx), normalLogProb(z)), bruteForceBatchRowLogDets(toBase, x), 1e-3, 1e-5);
        model.dispose();
      });
    }
  }

  it('a MAF and an IAF of the same weights are inverses: the MAF density is what the IAF\'s D-pass direction gives', () => {
    const dim = 4;
    const s = settings({ layers: 3, hidden: 16, netDepth: 2 });
    const maf = buildLabModel('maf', s, dim, new Rng(7)) as LayerStack;
    const iaf = buildLabModel('iaf', s, dim, new Rng(7)) as LayerStack;
    const rng = new Rng(8);
    perturb(maf.params, rng, 0.3);
    for (const [key, v] of maf.params.variables) iaf.params.variables.get(key)!.assign(v);
    const ctx = evalCtx();
    const x = normalRows(40, dim, rng, 1.5);
    // Layer by layer: the IAF's sampling direction is the MAF's density direction, and back.
    for (let i = 0; i < 3; i++) {
      expectClose(iaf.layers[i].inverse(x, ctx).out, maf.layers[i].forward(x, ctx).out, 1e-6);
      expectClose(iaf.layers[i].forward(x, ctx).out, maf.layers[i].inverse(x, ctx).out, 1e-6);
    }
    // The MAF's density in one pass per layer; the same through the IAF layers' D-pass direction,
    // carrying the MAF's base point back to x and taking the change of variables there.
    const z = maf.stages(x, 'to-base', ctx)[3];
    let h = z;
    let logDet = tf.zeros([40]);
    for (let i = 2; i >= 0; i--) {
      const step = iaf.layers[i].forward(h, ctx);
      h = step.out;
      logDet = tf.add(logDet, step.logDet);
    }
    expectClose(h, x, 1e-4);
    expectClose(tf.sub(normalLogProb(z), logDet), maf.logProb(x, ctx), 1e-4, 1e-5);
    maf.dispose();
    iaf.dispose();
  });
});

/** A mixture of four Gaussians (std 0.4) at (±2, ±2). */
function mixture(n: number, rng: Rng): tf.Tensor2D {
  const v = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const k = rng.int(4);
    v[2 * i] = (k % 2 ? 2 : -2) + 0.4 * rng.normal();
    v[2 * i + 1] = (k < 2 ? 2 : -2) + 0.4 * rng.normal();
  }
  return tf.tensor2d(v, [n, 2]);
}

function nll(model: LabModel, x: tf.Tensor2D): number {
  return tf.tidy(() => model.dataLoss(x, evalCtx()).dataSync()[0]);
}

/** ∫ q over [-8, 8]² by the midpoint rule. */
function gridMass(model: LabModel, ctx: LayerContext): number {
  const side = 160;
  const step = 16 / side;
  const centres = Array.from({ length: side }, (_, i) => -8 + (i + 0.5) * step);
  return tf.tidy(() => {
    const xs = tf.tensor2d(centres.flatMap((a) => centres.map((b) => [a, b])));
    return tf.sum(tf.exp(model.logProb(xs, ctx))).dataSync()[0] * step * step;
  });
}

describe('training the autoregressive families', () => {
  // Small models and batches: the cpu backend of a loaded machine runs these 300 steps.
  const RUNS: [LabFlowName, Partial<LabSettings>][] = [
    ['maf', { layers: 3 }],
    ['spline-autoregressive', { layers: 2, spline: 'rational-quadratic', bins: 6, tailBound: 5 }],
  ];
  for (const [flow, extra] of RUNS) {
    it(`300 steps of ${flow} lower test NLL by a nat, leak nothing, and leave a density of mass 1`, () => {
      const rng = new Rng(21);
      const model = buildLabModel(flow, settings({ hidden: 16, netDepth: 2, ...extra }), 2, rng);
      const test = mixture(2000, new Rng(99));
      const before = nll(model, test);
      const optimizer = tf.train.adam(5e-3);
      const vars = [...model.params.variables.values()];
      const ctx: LayerContext = { mode: 'train', rng };
      const tensorsBefore = tf.memory().numTensors;
      for (let step = 0; step < 300; step++) {
        const batch = mixture(128, rng);
        optimizer.minimize(() => model.dataLoss(batch, ctx), false, vars);
        batch.dispose();
        model.constrain();
      }
      // Adam's moment variables are created on the first step: two per weight.
      expect(tf.memory().numTensors).toBe(tensorsBefore + 2 * vars.length);
      const after = nll(model, test);
      expect(before - after).toBeGreaterThanOrEqual(1);
      expect(Math.abs(gridMass(model, evalCtx()) - 1)).toBeLessThan(0.01);
      optimizer.dispose();
      model.dispose();
    });
  }

  it('an IAF density (D passes) integrates to 1 too', () => {
    const rng = new Rng(5);
    const model = buildLabModel('iaf', settings({ layers: 3, hidden: 16, netDepth: 2 }), 2, rng);
    perturb(model.params, rng, 0.3);
    expect(Math.abs(gridMass(model, evalCtx()) - 1)).toBeLessThan(0.01);
    model.dispose();
  });
});

describe('IAF sampling can spread', () => {
  it('fits a Gaussian three times wider than its base by reverse KL (a scale capped at 1 in the one-pass direction could not)', async () => {
    const { trainLabModel } = await import('../../main/engine/lab/lab-trainer.ts');
    const model = buildLabModel('iaf', labSettings({ layers: 2, hidden: 8 }), 2, new Rng(0));
    // U(x) = |x|² / 18: the normal of standard deviation 3.
    const energy = (x: tf.Tensor2D) => tf.tidy(() => tf.div(tf.sum(tf.square(x), 1), 18) as tf.Tensor1D);
    await trainLabModel({ model, target: { kind: 'energy', energy }, objective: 'reverse-kl', steps: 300, minutes: null, batch: 256, lr: 2e-2, rng: new Rng(1) });
    const { x } = model.sample(2000, { mode: 'eval', rng: new Rng(2) });
    const values = x.dataSync();
    const std = Math.sqrt(Array.from(values).reduce((sum, v) => sum + v * v, 0) / values.length);
    expect(std).toBeGreaterThan(2.5);
    model.dispose();
  });
});
