// Flow matching's ODE on images against known answers: the likelihood of a linear velocity field
// between two Gaussians equals the analytic density, Hutchinson's divergence agrees with the exact
// one on a tiny image, encode then decode returns the image, and bits per dim are reproducible.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { initBackend } from '../../main/engine/backend.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { bitsPerDim } from '../../main/engine/models/flow-model.ts';
import type { FlowMatching } from '../../main/engine/models/flow-matching.ts';
import { odeLikelihood, type ImageVelocity } from '../../main/engine/models/ode-likelihood.ts';
import type { OdeOptions } from '../../main/engine/lab/ode/solve-ode.ts';
import { rademacher } from '../../main/engine/lab/trace.ts';
import { Rng } from '../../main/engine/random.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { perturb, randomInput } from '../helpers/perturb.ts';

const SHAPE: [number, number, number] = [4, 4, 1];
const DIM = SHAPE[0] * SHAPE[1] * SHAPE[2];

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

/** Per-value mean μ and standard deviation σ of the data Gaussian (the base is N(0, I)). */
const MU = Array.from({ length: DIM }, (_, i) => 0.5 * Math.sin(i + 1));
const SIGMA = Array.from({ length: DIM }, (_, i) => 0.3 + 0.05 * (i % 7));

/**
 * The marginal field of x_t = t μ + s_t x0, s_t = 1 - t + t σ (the map x0 ↦ μ + σ x0 moved along
 * straight lines): v = μ + (σ - 1)(x - t μ) / s_t, linear in x, carrying N(0, I) at t = 0 to N(μ, σ²) at t = 1.
 */
const linearField: ImageVelocity = (x, t) =>
  tf.tidy(() => {
    const mu = tf.tensor1d(MU).reshape([1, ...SHAPE]);
    const sigma = tf.tensor1d(SIGMA).reshape([1, ...SHAPE]);
    const s = tf.add(1 - t, tf.mul(t, sigma));
    return tf.add(mu, tf.div(tf.mul(tf.sub(sigma, 1), tf.sub(x, tf.mul(t, mu))), s)) as tf.Tensor4D;
  });

/** log N(x; μ, σ²) summed over the image, in float64. */
function analyticLogDensity(x: Float32Array, n: number): number[] {
  return Array.from({ length: n }, (_, r) => {
    let sum = 0;
    for (let i = 0; i < DIM; i++) {
      const u = (x[r * DIM + i] - MU[i]) / SIGMA[i];
      sum += -0.5 * u * u - Math.log(SIGMA[i]) - 0.5 * Math.log(2 * Math.PI);
    }
    return sum;
  });
}

function logProbOf(v: ImageVelocity, x: tf.Tensor4D, ode: OdeOptions, divergence: 'exact' | 'hutchinson'): Float32Array {
  return tf.tidy(() => {
    const n = x.shape[0];
    const estimate = divergence === 'exact' ? 'exact' : { probes: rademacher(n, DIM, new Rng(5)) };
    const { logpz, delta } = odeLikelihood(v, x, estimate, ode);
    return tf.add(logpz, delta);
  }).dataSync() as Float32Array;
}

describe('the ODE likelihood of images', () => {
  const n = 3;
  const points = () => {
    const values = new Rng(2).fillNormal(new Float32Array(n * DIM));
    for (let i = 0; i < values.length; i++) values[i] = MU[i % DIM] + SIGMA[i % DIM] * values[i];
    return values;
  };

  const solvers: [string, OdeOptions, number][] = [
    ['dopri5, tolerance 1e-6', { method: 'dopri5', rtol: 1e-6, atol: 1e-6 }, 2e-3],
    ['rk4, 16 steps', { method: 'rk4', steps: 16 }, 2e-3],
  ];
  for (const [name, ode, tol] of solvers) {
    it(`of a linear field between two Gaussians is the analytic density: ${name}`, () => {
      const values = points();
      const x = tf.tensor4d(values, [n, ...SHAPE]);
      const want = analyticLogDensity(values, n);
      // A diagonal Jacobian: a Rademacher probe gives its trace exactly, so both estimators must agree with the truth.
      expectClose(logProbOf(linearField, x, ode, 'exact'), want, tol, 1e-4);
      expectClose(logProbOf(linearField, x, ode, 'hutchinson'), want, tol, 1e-4);
      x.dispose();
    });
  }

  it("Euler's one step from the data is off by the solver's error, not the estimator's", () => {
    const values = points();
    const x = tf.tensor4d(values, [n, ...SHAPE]);
    const coarse = logProbOf(linearField, x, { method: 'euler', steps: 1 }, 'exact');
    const want = analyticLogDensity(values, n);
    // A test that can fail: one Euler step is far from the density.
    expect(Math.max(...want.map((w, i) => Math.abs(coarse[i] - w)))).toBeGreaterThan(0.1);
    x.dispose();
  });
});

/** A tiny flow-matching model whose velocity field is not zero (its last convolution starts at zero). */
function tinyModel(overrides: Record<string, unknown> = {}): FlowMatching {
  const model = createModel({ kind: 'flow-matching', size: 4, channels: 1, levels: 1, depth: 1, hidden: 4, ...overrides }, 3) as FlowMatching;
  perturb(model.params, 0.2);
  return model;
}

describe('the Hutchinson divergence of the U-Net', () => {
  it('agrees with the exact divergence on a tiny image (mean over probes within 3 standard errors)', () => {
    const model = tinyModel();
    const v = model.velocity;
    const image = randomInput([1, ...SHAPE], 4);
    // One Euler step from t = 1 gives Δ = -div v(x, 1): the divergence alone.
    const euler: OdeOptions = { method: 'euler', steps: 1 };
    const exact = -tf.tidy(() => odeLikelihood(v, image, 'exact', euler).delta).dataSync()[0];
    const probes = 400;
    const estimates = tf.tidy(() => {
      const rows = tf.tile(image, [probes, 1, 1, 1]) as tf.Tensor4D;
      return tf.neg(odeLikelihood(v, rows, { probes: rademacher(probes, DIM, new Rng(9)) }, euler).delta);
    }).dataSync() as Float32Array;
    const mean = estimates.reduce((a, b) => a + b, 0) / probes;
    const variance = estimates.reduce((a, b) => a + (b - mean) ** 2, 0) / (probes - 1);
    const standardError = Math.sqrt(variance / probes);
    expect(Math.abs(exact)).toBeGreaterThan(1e-3); // a field with a divergence to estimate
    expect(standardError).toBeGreaterThan(0); // the estimator is not exact here: the test can fail
    expect(Math.abs(mean - exact)).toBeLessThan(3 * standardError);
    image.dispose();
    model.dispose();
  });
});

describe('the flow-matching model through its ODE', () => {
  it('decodes its encoding back to the image, to the solver tolerance', () => {
    const model = tinyModel({ solver: 'dopri5', tolerance: 1e-6 });
    const x = randomInput([2, ...SHAPE], 6, 0.2);
    const [z] = model.encode(x);
    // The encoding moved: the field is not zero.
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(z, tf.mul(x, 2))))).dataSync()[0]).toBeGreaterThan(1e-2);
    expectClose(model.decode([z]), x, 1e-4);
    tf.dispose([x, z]);
    model.dispose();
  });

  it('gives the same bits per dim at every evaluation (fixed probes and steps); many probes near the exact trace', () => {
    const one = tinyModel({ solver: 'heun', odeSteps: 4, probes: 1 });
    const many = tinyModel({ solver: 'heun', odeSteps: 4, probes: 64 });
    const x = randomInput([3, ...SHAPE], 7, 0.2);
    const first = bitsPerDim(one, x, 8);
    const again = bitsPerDim(one, x, 8);
    expectClose(again, first, 0);
    // The same ODE with the exact divergence, in the field's space (images doubled, log p gains D log 2).
    const exact = tf.tidy(() => {
      const { logpz, delta } = odeLikelihood(many.velocity, tf.mul(x, 2) as tf.Tensor4D, 'exact', { method: 'heun', steps: 4 });
      return tf.add(tf.div(tf.add(tf.add(logpz, delta), DIM * Math.LN2), -DIM * Math.LN2), 8);
    });
    // One probe's estimate is off by about a bit per dim here; 64 probes' by an eighth of that.
    const averaged = bitsPerDim(many, x, 8);
    expectClose(averaged, exact, 0.5);
    tf.dispose([x, first, again, averaged, exact]);
    one.dispose();
    many.dispose();
  });

  it('samples through decode, with the noise scaled by the temperature', () => {
    const model = tinyModel({ solver: 'euler', odeSteps: 3 });
    const zero = model.sample(2, 0, new Rng(1));
    const fromZeros = model.decode([tf.zeros([2, ...SHAPE])]);
    expectClose(zero, fromZeros, 1e-6);
    tf.dispose([zero, fromZeros]);
    model.dispose();
  });
});
