// The Lab's discrete flows: planar, radial, couplings (affine, additive), ActNorm and the LU linear
// layer, and the planar / radial / RealNVP / NICE builders. Inverses and log-determinants against
// brute-force Jacobians, densities that integrate to one, constraints after optimizer steps, the
// numerical inverses' implicit gradients against finite differences, no leaks, and short trainings.
import { describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { ParamStore, type ParamScope } from '../../main/engine/flows/params.ts';
import { Rng } from '../../main/engine/random.ts';
import { defaultOf } from '../../common/settings/field.ts';
import { labFields, type LabSettings } from '../../common/lab/lab-fields.ts';
import type { LabFlowName } from '../../common/lab/lab-catalog.ts';
import { buildLabModel } from '../../main/engine/lab/lab-flows.ts';
import type { LabModel } from '../../main/engine/lab/lab-model.ts';
import type { LayerStack } from '../../main/engine/lab/layer-stack.ts';
import { normalLogProb } from '../../main/engine/lab/normal.ts';
import type { LayerContext, LayerOutput, VectorLayer } from '../../main/engine/lab/vector-layer.ts';
import { AdditiveTransform, AffineTransform } from '../../main/engine/lab/transforms/affine.ts';
import type { ElementwiseTransform } from '../../main/engine/lab/elementwise.ts';
import { PlanarLayer } from '../../main/engine/lab/flows/planar.ts';
import { RadialLayer } from '../../main/engine/lab/flows/radial.ts';
import { Coupling } from '../../main/engine/lab/flows/coupling.ts';
import { VectorActNorm } from '../../main/engine/lab/flows/actnorm.ts';
import { LuLinear } from '../../main/engine/lab/flows/lu-linear.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { bruteForceBatchRowLogDets, bruteForceRowLogDets } from '../helpers/jacobian.ts';

const evalCtx = (seed = 0): LayerContext => ({ mode: 'eval', rng: new Rng(seed) });

function settingsWith(overrides: Partial<LabSettings>): LabSettings {
  const defaults = Object.fromEntries(Object.entries(labFields).map(([key, field]) => [key, defaultOf(field)]));
  return { ...defaults, ...overrides } as LabSettings;
}

function rows(n: number, dim: number, rng: Rng, std = 1): tf.Tensor2D {
  return tf.tensor2d(rng.fillNormal(new Float32Array(n * dim), std), [n, dim]);
}

/** Adds normal noise to every weight, so nothing starts at the identity (zero-initialised conditioners included). */
function perturb(store: ParamStore, std: number, rng: Rng): void {
  for (const v of store.variables.values()) {
    tf.tidy(() => v.assign(tf.add(v, tf.tensor(rng.fillNormal(new Float32Array(v.size), std), v.shape))));
  }
}

/** Runs `steps` Adam steps on `loss`, applying the model's constraints after each. */
function adamSteps(store: ParamStore, steps: number, lr: number, loss: () => tf.Scalar, constrain: () => void = () => {}): void {
  const optimizer = tf.train.adam(lr);
  const vars = [...store.variables.values()];
  for (let s = 0; s < steps; s++) {
    tf.tidy(() => {
      optimizer.minimize(loss, false, vars);
    });
    constrain();
  }
  optimizer.dispose();
}

// ---- the layers, one factory per kind; `numerical` marks inverses found by a root solver -------

interface LayerCase {
  name: string;
  numerical: boolean;
  make(scope: ParamScope, dim: number, rng: Rng): VectorLayer;
}

const couplingOf = (transform: ElementwiseTransform, flip: boolean) => (scope: ParamScope, dim: number, rng: Rng) =>
  new Coupling(scope, { dim, flip, transform, hidden: 8, netDepth: 2 }, rng);

const LAYERS: LayerCase[] = [
  { name: 'planar', numerical: true, make: (scope, dim, rng) => new PlanarLayer(scope, dim, rng) },
  { name: 'radial', numerical: true, make: (scope, dim, rng) => new RadialLayer(scope, dim, rng) },
  { name: 'affine coupling', numerical: false, make: couplingOf(new AffineTransform(), false) },
  { name: 'affine coupling (flipped)', numerical: false, make: couplingOf(new AffineTransform(), true) },
  { name: 'additive coupling (flipped)', numerical: false, make: couplingOf(new AdditiveTransform(), true) },
  { name: 'actnorm', numerical: false, make: (scope, dim) => new VectorActNorm(scope, dim) },
  { name: 'LU linear', numerical: false, make: (scope, dim, rng) => new LuLinear(scope, dim, rng) },
];

function withLayer(c: LayerCase, dim: number, seed: number, body: (layer: VectorLayer, rng: Rng, store: ParamStore) => void): void {
  const rng = new Rng(seed);
  const store = new ParamStore();
  const layer = c.make(store.scope('layer'), dim, rng);
  perturb(store, 0.5, rng);
  try {
    tf.tidy(() => body(layer, rng, store));
  } finally {
    store.dispose();
  }
}

describe('Lab discrete layers', () => {
  for (const c of LAYERS) {
    for (const dim of [2, 5]) {
      it(`${c.name}, ${dim}-D: inverse(forward(x)) = x and forward(inverse(z)) = z`, () => {
        withLayer(c, dim, 11, (layer, rng) => {
          const ctx = evalCtx();
          const x = rows(64, dim, rng, 1.5);
          const tol = c.numerical ? 1e-3 : 1e-4;
          expectClose(layer.inverse(layer.forward(x, ctx).out, ctx).out, x, tol);
          expectClose(layer.forward(layer.inverse(x, ctx).out, ctx).out, x, tol);
        });
      });

      it(`${c.name}, ${dim}-D: both log-determinants match brute-force Jacobians`, () => {
        withLayer(c, dim, 12, (layer, rng) => {
          const ctx = evalCtx();
          const x = rows(6, dim, rng, 1.5);
          const tol = c.numerical ? 1e-3 : 2e-4;
          expectClose(layer.forward(x, ctx).logDet, bruteForceRowLogDets((t) => layer.forward(t, ctx).out, x), tol, 1e-4);
          expectClose(layer.inverse(x, ctx).logDet, bruteForceRowLogDets((t) => layer.inverse(t, ctx).out, x), tol, 1e-4);
        });
      });
    }
  }

  it('a coupling leaves its kept half untouched and refuses one dimension', () => {
    withLayer(LAYERS[2], 5, 3, (layer, rng) => {
      const x = rows(4, 5, rng);
      // Five columns split at 2: the unflipped coupling keeps the first two.
      expectClose(tf.slice(layer.forward(x, evalCtx()).out, [0, 0], [4, 2]), tf.slice(x, [0, 0], [4, 2]), 0);
    });
    const store = new ParamStore();
    expect(() => couplingOf(new AffineTransform(), false)(store.scope('c'), 1, new Rng(0))).toThrow(/at least 2 dimensions/);
    store.dispose();
  });

  it('ActNorm starts from the first batch it sees once data init is requested', () => {
    const store = new ParamStore();
    const norm = new VectorActNorm(store.scope('norm'), 3);
    const x = tf.add(tf.mul(rows(500, 3, new Rng(4)), [2, 0.5, 3]), [1, -2, 4]) as tf.Tensor2D;
    store.requestDataInit();
    const { mean, variance } = tf.moments(norm.forward(x).out, 0);
    expectClose(mean, [0, 0, 0], 1e-4);
    expectClose(variance, [1, 1, 1], 1e-3);
    store.dispose();
  });
});

// ---- the elementwise transforms on their own --------------------------------------------------

describe('Lab affine and additive transforms', () => {
  const cases: [string, ElementwiseTransform][] = [['affine', new AffineTransform()], ['additive', new AdditiveTransform()]];
  for (const [name, transform] of cases) {
    it(`${name}: inverse undoes forward, log|det| matches the brute-force Jacobian, and the two log-dets cancel`, () => {
      tf.tidy(() => {
        const rng = new Rng(21);
        const x = rows(5, 3, rng, 2);
        const params = tf.tensor3d(rng.fillNormal(new Float32Array(5 * 3 * transform.paramsPerDim), 2), [5, 3, transform.paramsPerDim]);
        const y = transform.forward(x, params);
        const back = transform.inverse(y.out, params);
        expectClose(back.out, x, 1e-4);
        expectClose(tf.add(y.logDet, back.logDet), tf.zeros([5]), 1e-5);
        expectClose(y.logDet, bruteForceBatchRowLogDets((t) => transform.forward(t, params).out, x), 1e-4, 1e-5);
      });
    });
  }

  it('affine: the scale stays in (0, 1.001] however large the raw parameter', () => {
    tf.tidy(() => {
      const t = new AffineTransform();
      const params = tf.tensor3d([0, 1e4, 0, -1e4], [2, 1, 2]);
      const y = t.forward(tf.tensor2d([[1], [1]]), params);
      expectClose(y.out, [1.001, 0.001], 1e-5);
      expect(Number.isFinite(t.inverse(y.out, params).out.dataSync()[1])).toBe(true);
    });
  });

  it('additive: keeps volume', () => {
    tf.tidy(() => {
      const params = tf.tensor3d([3, -1], [1, 2, 1]);
      const y = new AdditiveTransform().forward(tf.tensor2d([[1, 1]]), params);
      expectClose(y.out, [4, 0], 0);
      expectClose(y.logDet, [0], 0);
    });
  });
});

// ---- the numerical inverses' gradients ----------------------------------------------------------

/** A loss through one direction of a layer that uses both its output and its log-determinant. */
function layerLoss(direction: (x: tf.Tensor2D) => LayerOutput, x: tf.Tensor2D, weights: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const { out, logDet } = direction(x);
    return tf.add(tf.sum(tf.mul(out, weights)), tf.sum(logDet)) as tf.Scalar;
  });
}

describe('Lab numerical inverses: implicit gradients', () => {
  const cases: [string, LayerCase, 'forward' | 'inverse'][] = [
    ['planar density direction', LAYERS[0], 'forward'],
    ['radial density direction', LAYERS[1], 'forward'],
    ['LU linear sampling direction (float64 inverse)', LAYERS[6], 'inverse'],
  ];
  for (const [name, c, direction] of cases) {
    it(`${name}: weight gradients match central finite differences`, () => {
      withLayer(c, 3, 31, (layer, rng, store) => {
        const ctx = evalCtx();
        const x = rows(8, 3, rng, 1.5);
        const weights = rows(8, 3, rng);
        const run = (t: tf.Tensor2D) => layer[direction](t, ctx);
        const vars = [...store.variables.values()];
        const { grads } = tf.variableGrads(() => layerLoss(run, x, weights), vars);
        const eps = 1e-2;
        for (const v of vars) {
          const analytic = grads[v.name].dataSync();
          const base = v.dataSync().slice();
          const numeric = new Float64Array(v.size);
          for (let k = 0; k < v.size; k++) {
            const at = (delta: number) => {
              const shifted = base.slice();
              shifted[k] += delta;
              v.assign(tf.tensor(shifted, v.shape));
              return layerLoss(run, x, weights).dataSync()[0];
            };
            numeric[k] = (at(eps) - at(-eps)) / (2 * eps);
          }
          v.assign(tf.tensor(base, v.shape));
          expectClose(analytic, numeric, 2e-3, 2e-3);
        }
      });
    });
  }
});

// ---- the planar and radial constraints after aggressive optimizer steps -----------------------

describe('Lab planar and radial constraints', () => {
  it('planar: wᵀû ≥ -1 on the stored weights after large Adam steps that push it down', () => {
    const rng = new Rng(41);
    const store = new ParamStore();
    const layers = [0, 1, 2].map((i) => new PlanarLayer(store.scope(`p${i}`), 2, rng));
    const wu = (l: PlanarLayer) => l.constrained().dot;
    adamSteps(store, 40, 0.5, () => tf.addN(layers.map(wu)) as tf.Scalar);
    for (const l of layers) {
      const u = l.u.dataSync();
      const w = l.w.dataSync();
      const dot = u[0] * w[0] + u[1] * w[1];
      // wᵀû = m(wᵀu) = -1 + softplus(wᵀu), in float64 from the stored values.
      expect(-1 + Math.log1p(Math.exp(dot))).toBeGreaterThanOrEqual(-1);
      expect(tf.tidy(() => wu(l).dataSync()[0])).toBeGreaterThanOrEqual(-1);
    }
    // Pushed to the edge, each layer still inverts.
    tf.tidy(() => {
      const x = rows(32, 2, rng);
      for (const l of layers) expectClose(l.forward(l.inverse(x).out).out, x, 1e-3);
    });
    store.dispose();
  });

  it('radial: β ≥ -α on the stored weights after large Adam steps that push β down', () => {
    const rng = new Rng(42);
    const store = new ParamStore();
    const layers = [0, 1, 2].map((i) => new RadialLayer(store.scope(`r${i}`), 2, rng));
    adamSteps(store, 40, 0.5, () => tf.addN(layers.map((l) => tf.sum(l.alphaBeta().beta))) as tf.Scalar);
    for (const l of layers) {
      const softplus = (a: number) => Math.log1p(Math.exp(a));
      const alpha = softplus(l.alphaRaw.dataSync()[0]);
      const beta = -alpha + softplus(l.betaRaw.dataSync()[0]);
      expect(alpha).toBeGreaterThan(0);
      expect(beta).toBeGreaterThanOrEqual(-alpha);
      const ab = tf.tidy(() => { const { alpha: a, beta: b } = l.alphaBeta(); return tf.add(a, b).dataSync()[0]; });
      expect(ab).toBeGreaterThanOrEqual(0);
    }
    store.dispose();
  });
});

// ---- the builders ------------------------------------------------------------------------------

const FLOWS: LabFlowName[] = ['planar', 'radial', 'realnvp', 'nice'];
const NUMERICAL_DENSITY = new Set<LabFlowName>(['planar', 'radial']);

/** A built model with every weight perturbed by `std` (more than 0.15 puts RealNVP's mass outside [-6, 6]²). */
function builtModel(flow: LabFlowName, dim: number, seed: number, std: number): LabModel {
  const rng = new Rng(seed);
  const model = buildLabModel(flow, settingsWith({ layers: 3, hidden: 16, netDepth: 2 }), dim, rng);
  perturb(model.params, std, rng);
  return model;
}

/** The data-to-base map of a stack and its summed log-determinant. */
function throughLayers(model: LabModel, x: tf.Tensor2D, direction: 'forward' | 'inverse'): LayerOutput {
  const layers = (model as LayerStack).layers;
  const order = direction === 'forward' ? layers : [...layers].reverse();
  let out = x;
  let logDet = tf.zeros([x.shape[0]]) as tf.Tensor1D;
  for (const layer of order) {
    const step = layer[direction](out, evalCtx());
    out = step.out;
    logDet = tf.add(logDet, step.logDet);
  }
  return { out, logDet };
}

describe('Lab discrete builders', () => {
  for (const flow of FLOWS) {
    for (const dim of [2, 5]) {
      it(`${flow}, ${dim}-D: sampling inverts the density direction, and log q matches brute-force Jacobians`, () => {
        const model = builtModel(flow, dim, 51, 0.3);
        tf.tidy(() => {
          const ctx = evalCtx();
          const base = rows(32, dim, new Rng(52));
          const { x, logProb } = model.sample(32, ctx, base);
          const tol = NUMERICAL_DENSITY.has(flow) ? 1e-3 : 1e-4;
          const stages = model.stages(x, 'to-base', ctx);
          expectClose(stages[stages.length - 1], base, tol);
          expectClose(model.logProb(x, ctx), logProb, 10 * tol, 1e-4);

          const few = tf.slice(x, [0, 0], [5, dim]) as tf.Tensor2D;
          const z = throughLayers(model, few, 'forward').out;
          const bruteLogProb = tf.add(normalLogProb(z), bruteForceRowLogDets((t) => throughLayers(model, t, 'forward').out, few));
          expectClose(model.logProb(few, ctx), bruteLogProb, 10 * tol, 1e-4);
          const fewBase = tf.slice(base, [0, 0], [5, dim]) as tf.Tensor2D;
          const bruteSampleLogProb = tf.sub(normalLogProb(fewBase), bruteForceRowLogDets((t) => throughLayers(model, t, 'inverse').out, fewBase));
          expectClose(tf.slice(logProb, [0], [5]), bruteSampleLogProb, 10 * tol, 1e-4);
        });
        model.dispose();
      });
    }

    it(`${flow}, 2-D, random weights: q integrates to 1 ± 0.01 over [-6, 6]²`, () => {
      const model = builtModel(flow, 2, 61, 0.15);
      expect(Math.abs(integral(model) - 1)).toBeLessThan(0.01);
      model.dispose();
    });
  }
});

/** ∑ q Δ² over a 200x200 grid of cell centres on [-6, 6]². */
function integral(model: LabModel): number {
  const n = 200;
  const cell = 12 / n;
  const grid = new Float32Array(n * n * 2);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      grid[(i * n + j) * 2] = -6 + (i + 0.5) * cell;
      grid[(i * n + j) * 2 + 1] = -6 + (j + 0.5) * cell;
    }
  }
  return tf.tidy(() => tf.sum(tf.exp(model.logProb(tf.tensor2d(grid, [n * n, 2]), evalCtx()))).dataSync()[0] * cell * cell);
}

// ---- training: no leaks, likelihood and reverse KL ---------------------------------------------

/**
 * A mixture of two Gaussians at (±2, 0), standard deviation 0.2: fresh draws from `rng`. Narrow
 * modes, so the best Gaussian (where ActNorm's data init starts) is ~1.6 nats worse than the truth.
 */
function twoGaussians(n: number, rng: Rng): tf.Tensor2D {
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    out[2 * i] = (rng.next() < 0.5 ? -2 : 2) + 0.2 * rng.normal();
    out[2 * i + 1] = 0.2 * rng.normal();
  }
  return tf.tensor2d(out, [n, 2]);
}

/** A ring of radius 2 and width ~0.4 (U1 of Rezende & Mohamed without its two lobes). */
function ringEnergy(x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.mul(0.5, tf.square(tf.div(tf.sub(tf.norm(x, 'euclidean', 1), 2), 0.4))) as tf.Tensor1D);
}

/** E_q[log q + U] on fresh samples: the reverse KL up to log Z. */
function reverseKlLoss(model: LabModel, n: number, ctx: LayerContext): tf.Scalar {
  return tf.tidy(() => {
    const { x, logProb } = model.sample(n, ctx);
    return tf.mean(tf.add(logProb, ringEnergy(x))) as tf.Scalar;
  });
}

function testNll(model: LabModel, test: tf.Tensor2D): number {
  return tf.tidy(() => model.dataLoss(test, evalCtx()).dataSync()[0]);
}

describe('Lab discrete training', () => {
  it('no tensor leaks over 50 steps (realnvp by likelihood, planar by likelihood and by reverse KL)', () => {
    const rng = new Rng(71);
    const ctx: LayerContext = { mode: 'train', rng };
    const realnvp = buildLabModel('realnvp', settingsWith({ layers: 2, hidden: 8 }), 2, rng);
    const planar = buildLabModel('planar', settingsWith({ layers: 2 }), 2, rng);
    const losses: [LabModel, () => tf.Scalar][] = [
      [realnvp, () => { const b = twoGaussians(32, rng); const l = realnvp.dataLoss(b, ctx); b.dispose(); return l; }],
      [planar, () => { const b = twoGaussians(32, rng); const l = planar.dataLoss(b, ctx); b.dispose(); return l; }],
      [planar, () => reverseKlLoss(planar, 32, ctx)],
    ];
    for (const [model, loss] of losses) {
      const optimizer = tf.train.adam(1e-2);
      const vars = [...model.params.variables.values()];
      const step = () => { tf.tidy(() => { optimizer.minimize(loss, false, vars); }); model.constrain(); };
      step(); // the optimizer makes its moment slots on the first step
      const before = tf.memory().numTensors;
      for (let s = 0; s < 50; s++) step();
      expect(tf.memory().numTensors).toBe(before);
      optimizer.dispose();
    }
    realnvp.dispose();
    planar.dispose();
  });

  it('realnvp: 300 Adam steps of maximum likelihood lower test NLL on two Gaussians by ≥ 1 nat, and q still integrates to 1', () => {
    const rng = new Rng(81);
    const ctx: LayerContext = { mode: 'train', rng };
    const model = buildLabModel('realnvp', settingsWith({ layers: 3, hidden: 16 }), 2, rng);
    const test = twoGaussians(2000, new Rng(82));
    // ActNorm starts from the first batch, as the Lab's trainer starts it.
    model.params.requestDataInit();
    tf.tidy(() => { model.logProb(twoGaussians(512, rng), ctx); });
    const initial = testNll(model, test);
    adamSteps(model.params, 300, 1e-2, () => tf.tidy(() => model.dataLoss(twoGaussians(64, rng), ctx)), () => model.constrain());
    const final = testNll(model, test);
    expect(initial - final).toBeGreaterThanOrEqual(1);
    expect(Math.abs(integral(model) - 1)).toBeLessThan(0.01);
    test.dispose();
    model.dispose();
  });

  it('planar: 300 Adam steps of reverse KL on a ring energy lower the KL', () => {
    const rng = new Rng(91);
    const ctx: LayerContext = { mode: 'train', rng };
    const model = buildLabModel('planar', settingsWith({ layers: 6 }), 2, rng);
    const kl = () => tf.tidy(() => reverseKlLoss(model, 4000, { mode: 'eval', rng: new Rng(92) }).dataSync()[0]);
    const initial = kl();
    adamSteps(model.params, 300, 1e-2, () => reverseKlLoss(model, 128, ctx), () => model.constrain());
    const final = kl();
    expect(initial - final).toBeGreaterThan(1);
    model.dispose();
  });
});
