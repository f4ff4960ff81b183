// Posterior sampling for super-resolution and inpainting: on a Gaussian model whose conditional
// posteriors are known in closed form the chains' means and variances match them; on a small Glow
// every step keeps the observation exact; bad settings and models are refused clearly.
import { describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { invert, type Matrix } from '../../main/engine/flows/linalg.ts';
import { resolveModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { Rng } from '../../main/engine/random.ts';
import { downsampleBox } from '../../main/engine/restore/box-average.ts';
import type { RestoreModel } from '../../main/engine/restore/log-prob-gradient.ts';
import { inpaintSamples, upscaleSamples } from '../../main/engine/restore/posterior.ts';
import { inpaint, upscale } from '../../main/engine/restore/restore.ts';
import type { RestoreSettings } from '../../common/restore-fields.ts';

const SIZE = 4;
const D = SIZE * SIZE;

/**
 * Precision 100 (I + 0.5 L), L the 4-neighbour graph Laplacian of the 4x4 grid: eigenvalues in
 * [100, 500], standard deviations under 0.1, so the data range [-0.5, 0.5] lies 4 of them or more away.
 */
function gridPrecision(): Matrix {
  const data = new Float64Array(D * D);
  for (let p = 0; p < D; p++) {
    data[p * D + p] += 100;
    const [row, col] = [Math.floor(p / SIZE), p % SIZE];
    for (const q of [row > 0 ? p - SIZE : -1, row < SIZE - 1 ? p + SIZE : -1, col > 0 ? p - 1 : -1, col < SIZE - 1 ? p + 1 : -1]) {
      if (q < 0) continue;
      data[p * D + p] += 50;
      data[p * D + q] -= 50;
    }
  }
  return { n: D, data };
}

const PRECISION = gridPrecision();
const MEAN = Float64Array.from({ length: D }, (_, i) => 0.1 * Math.sin(i));

/** log N(x; MEAN, PRECISION⁻¹) up to a constant, on 4x4x1 images; `seen` gets every batch it scores. */
function gaussianModel(seen?: (x: Float32Array, n: number) => void): RestoreModel {
  const config = resolveModelConfig({ kind: 'nice', size: SIZE, channels: 1 });
  const lambda = tf.tensor2d(Float32Array.from(PRECISION.data), [D, D]);
  const mu = tf.tensor1d(Float32Array.from(MEAN));
  return {
    config,
    logProb: (x) => {
      seen?.(x.dataSync() as Float32Array, x.shape[0]);
      return tf.tidy(() => {
        const d = tf.sub(tf.reshape(x, [x.shape[0], D]), mu) as tf.Tensor2D;
        return tf.mul(-0.5, tf.sum(tf.mul(d, tf.matMul(d, lambda)), 1)) as tf.Tensor1D;
      });
    },
  };
}

/** Rows x cols dense matrix from f(row, col). */
function dense(rows: number, cols: number, f: (r: number, c: number) => number): { rows: number; cols: number; data: Float64Array } {
  return { rows, cols, data: Float64Array.from({ length: rows * cols }, (_, k) => f(Math.floor(k / cols), k % cols)) };
}
type Dense = ReturnType<typeof dense>;
const times = (a: Dense, b: Dense): Dense => dense(a.rows, b.cols, (r, c) => {
  let s = 0;
  for (let k = 0; k < a.cols; k++) s += a.data[r * a.cols + k] * b.data[k * b.cols + c];
  return s;
});
const fromMatrix = (m: Matrix): Dense => dense(m.n, m.n, (r, c) => m.data[r * m.n + c]);
const transpose = (a: Dense): Dense => dense(a.cols, a.rows, (r, c) => a.data[c * a.cols + r]);
const inverse = (a: Dense): Dense => fromMatrix(invert({ n: a.rows, data: a.data }));

/** Per value, the chains' mean and variance. */
function moments(samples: Float32Array, n: number): { mean: Float64Array; variance: Float64Array } {
  const per = samples.length / n;
  const mean = new Float64Array(per);
  const variance = new Float64Array(per);
  for (let i = 0; i < samples.length; i++) mean[i % per] += samples[i] / n;
  for (let i = 0; i < samples.length; i++) variance[i % per] += (samples[i] - mean[i % per]) ** 2 / (n - 1);
  return { mean, variance };
}

/** Within 4 standard errors of the posterior's mean and variance (plus ULA's bias, ε λmax / 2 at most). */
function expectPosterior(samples: Float32Array, n: number, indices: number[], mean: (i: number) => number, variance: (i: number) => number, ulaBias: number): void {
  const got = moments(samples, n);
  for (const i of indices) {
    const v = variance(i);
    expect(Math.abs(got.mean[i] - mean(i)), `mean of value ${i}`).toBeLessThan(4 * Math.sqrt(v / n));
    expect(Math.abs(got.variance[i] - v), `variance of value ${i}`).toBeLessThan(4 * v * Math.sqrt(2 / (n - 1)) + ulaBias * v);
  }
}

const CHAINS = 1000;
const EPS = 5e-5;
const EXACT: RestoreSettings = { samples: CHAINS, steps: 1200, stepSize: EPS, finalStepSize: EPS, temperature: 1, seed: 1 };
/** ε λmax / 2 with λmax = 500: ULA's stationary variance is at most this much too wide. */
const ULA_BIAS = (EPS * 500) / 2;

describe('Langevin posterior on a Gaussian model', () => {
  it('inpainting samples the conditional N(μh - Λhh⁻¹ Λho (xo - μo), Λhh⁻¹), at T = 1 and T = 0.5', async () => {
    const hole = [5, 6, 9, 10];
    const observed = [...Array(D).keys()].filter((i) => !hole.includes(i));
    const mask = Uint8Array.from({ length: D }, (_, i) => (hole.includes(i) ? 0 : 1));
    const image = Float32Array.from({ length: D }, (_, i) => (hole.includes(i) ? 0.4 : 0.15 * Math.cos(i)));
    const lambda = fromMatrix(PRECISION);
    const pick = (rows: number[], cols: number[]) => dense(rows.length, cols.length, (r, c) => lambda.data[rows[r] * D + cols[c]]);
    const covariance = inverse(pick(hole, hole));
    const shift = times(times(covariance, pick(hole, observed)), dense(observed.length, 1, (r) => image[observed[r]] - MEAN[observed[r]]));
    const at = (i: number) => hole.indexOf(i);
    const samples = await inpaintSamples(gaussianModel(), image, mask, EXACT);
    let moved = 0;
    for (const i of observed) for (let c = 0; c < CHAINS; c++) if (samples[c * D + i] !== image[i]) moved++;
    expect(moved).toBe(0);
    expectPosterior(samples, CHAINS, hole, (i) => MEAN[i] - shift.data[at(i)], (i) => covariance.data[at(i) * hole.length + at(i)], ULA_BIAS);
    const cooler = await inpaintSamples(gaussianModel(), image, mask, { ...EXACT, temperature: 0.5 });
    expectPosterior(cooler, CHAINS, hole, (i) => MEAN[i] - shift.data[at(i)], (i) => 0.5 * covariance.data[at(i) * hole.length + at(i)], ULA_BIAS);
  }, 300_000);

  it('super-resolution samples x | Ax = y: mean μ + ΣAᵀ(AΣAᵀ)⁻¹(y - Aμ), covariance Σ - ΣAᵀ(AΣAᵀ)⁻¹AΣ', async () => {
    const factor = 2;
    const small = SIZE / factor;
    const a = dense(small * small, D, (r, c) => (Math.floor(Math.floor(c / SIZE) / factor) * small + Math.floor((c % SIZE) / factor) === r ? 1 / (factor * factor) : 0));
    const y = Float32Array.of(0.1, -0.08, 0.05, 0.12);
    const sigma = inverse(fromMatrix(PRECISION));
    const gain = times(times(sigma, transpose(a)), inverse(times(times(a, sigma), transpose(a))));
    const residual = times(a, dense(D, 1, (r) => MEAN[r]));
    const mean = times(gain, dense(small * small, 1, (r) => y[r] - residual.data[r]));
    const covariance = times(gain, times(a, sigma));
    const samples = await upscaleSamples(gaussianModel(), y, factor, EXACT);
    expectPosterior(samples, CHAINS, [...Array(D).keys()], (i) => MEAN[i] + mean.data[i], (i) => sigma.data[i * D + i] - covariance.data[i * D + i], ULA_BIAS);
  }, 300_000);
});

describe('observations stay exact at every step', () => {
  const settings: RestoreSettings = { samples: 3, steps: 12, stepSize: 1e-4, finalStepSize: 1e-5, temperature: 1, seed: 2 };

  /** A small Glow (ActNorm initialised on random images) whose every scored batch is handed to `seen`. */
  function watchedGlow(seen: (x: Float32Array, n: number) => void): { model: RestoreModel; dispose: () => void } {
    const glow = createModel({ kind: 'glow', size: 8, channels: 3, levels: 2, depth: 1, hidden: 8 }, 3);
    tf.tidy(() => glow.initialise(tf.randomUniform([8, 8, 8, 3], -0.5, 0.5, 'float32', 4) as tf.Tensor4D));
    const model: RestoreModel = {
      config: glow.config,
      logProb: (x) => {
        seen(x.dataSync() as Float32Array, x.shape[0]);
        return glow.logProb(x);
      },
    };
    return { model, dispose: () => glow.dispose() };
  }

  it('super-resolution: every state a Glow scores has box average y to 1e-5, and its pixels average to the input within a grey level', async () => {
    const layout = { n: 3, size: 8, channels: 3, factor: 2 };
    const y = new Rng(5).fillUniform(new Float32Array(4 * 4 * 3), 0.6).map((v) => v - 0.3);
    let worst = 0;
    let scored = 0;
    const { model, dispose } = watchedGlow((x, n) => {
      scored++;
      const down = downsampleBox(x, { ...layout, n });
      for (let i = 0; i < down.length; i++) worst = Math.max(worst, Math.abs(down[i] - y[i % y.length]));
    });
    try {
      await upscaleSamples(model, y, 2, settings);
      expect(scored).toBe(settings.steps);
      expect(worst).toBeLessThan(1e-5);
      const smallPixels = Uint8Array.from({ length: 4 * 4 * 3 }, (_, k) => 40 + ((k * 53) % 170));
      const r = await upscale({ model, nBits: 8 }, smallPixels, 2, settings);
      expect(r.outOfRange).toBe(0);
      const down = downsampleBox(r.candidates, layout);
      for (let i = 0; i < down.length; i++) expect(Math.abs(down[i] - smallPixels[i % smallPixels.length])).toBeLessThanOrEqual(1);
      expect(Object.keys(r.baselines)).toEqual(['bicubic']);
    } finally {
      dispose();
    }
  });

  it('inpainting: every state a Glow scores keeps the observed values, and the candidates\' kept pixels equal the input', async () => {
    const mask = Uint8Array.from({ length: 64 }, (_, p) => (p % 8 < 4 && p < 40 ? 0 : 1));
    const pixels = Uint8Array.from({ length: 64 * 3 }, (_, k) => (k * 29) % 256);
    const image = Float32Array.from(pixels, (p) => (p + 0.5) / 256 - 0.5);
    let changed = 0;
    const { model, dispose } = watchedGlow((x, n) => {
      for (let i = 0; i < n * 64 * 3; i++) if (mask[Math.floor((i % 192) / 3)] && x[i] !== image[i % 192]) changed++;
    });
    try {
      await inpaintSamples(model, image, mask, settings);
      const r = await inpaint({ model, nBits: 8 }, pixels, mask, settings);
      expect(changed).toBe(0);
      for (let c = 0; c < r.count; c++) {
        for (let i = 0; i < 192; i++) if (mask[Math.floor(i / 3)]) expect(r.candidates[c * 192 + i]).toBe(pixels[i]);
      }
      expect(Object.keys(r.baselines)).toEqual(['mean colour', 'diffusion']);
    } finally {
      dispose();
    }
  });
});

describe('refusals, progress and cancelling', () => {
  const settings: RestoreSettings = { samples: 2, steps: 300, stepSize: 1e-3, finalStepSize: 1e-3, temperature: 1, seed: 0 };
  const y = new Float32Array(4);

  it('refuses flow matching and a factor that does not divide the size', async () => {
    const fm = createModel({ kind: 'flow-matching', size: 4, channels: 1, levels: 1, depth: 1, hidden: 4 }, 0);
    try {
      await expect(upscaleSamples(fm, y, 2, settings)).rejects.toThrow(/flow matching has no exact log-likelihood.*Glow, RealNVP, NICE or TarFlow/);
    } finally {
      fm.dispose();
    }
    await expect(upscaleSamples(gaussianModel(), y, 3, settings)).rejects.toThrow(/factor 3 does not divide the model's image size 4 x 4: use 2 or 4/);
  });

  it('stops with NON_FINITE, naming the step size, when the gradient of log p is not finite', async () => {
    // log p = sum of sqrt(x + 0.5): its gradient at the range's lower edge is infinite.
    const edge: RestoreModel = { config: resolveModelConfig({ kind: 'nice', size: SIZE, channels: 1 }), logProb: (x) => tf.sum(tf.sqrt(tf.add(x, 0.5)), [1, 2, 3]) as tf.Tensor1D };
    await expect(upscaleSamples(edge, Float32Array.of(-0.5, -0.5, -0.5, -0.5), 2, settings)).rejects.toMatchObject({ code: 'NON_FINITE', message: expect.stringMatching(/step 1 of 300 .* lower the step size \(now 1\.00e-3\)/) });
  });

  it('reports progress up to the last step and answers CANCELLED when aborted', async () => {
    const seen: number[] = [];
    await upscaleSamples(gaussianModel(), y, 2, { ...settings, steps: 5 }, { onProgress: (p) => seen.push(p.done) });
    expect(seen.at(-1)).toBe(5);
    const controller = new AbortController();
    controller.abort();
    await expect(upscaleSamples(gaussianModel(), y, 2, settings, { signal: controller.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
