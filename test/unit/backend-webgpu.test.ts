// The WebGPU backend against plain JavaScript on a tiny Glow: log p(x), bits per dim, gradients
// and a few Adam steps agree within TOLERANCE. Runs wherever Dawn finds an adapter, software ones
// included (CI has lavapipe, see .ci/run); with CI=true a missing adapter fails instead of skipping.
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { describeBackend, initBackend, type BackendReport } from '../../main/engine/backend.ts';
import type { ImageSet } from '../../main/engine/data/index.ts';
import type { ModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { bitsPerDim } from '../../main/engine/models/flow-model.ts';
import { trainingBatch } from '../../main/engine/train/batches.ts';
import { batchGradients } from '../../main/engine/train/gradients.ts';
import { Optimizer, resolveOptimizerConfig } from '../../main/engine/train/optimizer.ts';
import { Rng } from '../../main/engine/random.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { perturb } from '../helpers/perturb.ts';

/**
 * |webgpu - cpu| <= atol + rtol * |cpu|. float32 throughout; the backends sum in different
 * orders, and Adam's first steps move each weight by about lr whatever the gradient's size.
 */
const TOLERANCE = {
  logProb: { atol: 1e-3, rtol: 1e-4 },
  gradient: { atol: 1e-4, rtol: 1e-3 },
  weightsAfterTraining: { atol: 1e-4, rtol: 1e-3 },
};

const CONFIG: ModelConfig = { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 2, hidden: 8 };
const BATCH = 8;
const N_BITS = 5;
const STEPS = 4;

/** Smooth 8x8 gray images with noise: structured enough that the model has something to learn. */
function syntheticImages(count: number): ImageSet {
  const size = 8;
  const rng = new Rng(11);
  const pixels = new Uint8Array(count * size * size);
  for (let n = 0; n < count; n++) {
    const fx = 0.3 + rng.next();
    const fy = 0.3 + rng.next();
    for (let i = 0; i < size * size; i++) {
      const v = 128 + 90 * Math.sin(fx * (i % size) + fy * Math.floor(i / size)) + 20 * rng.normal();
      pixels[n * size * size + i] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return { size, channels: 1, count, pixels, paths: Array.from({ length: count }, (_, i) => `synthetic-${i}.png`), labels: null, classes: [] };
}

interface Numbers {
  logProb: Float32Array;
  bitsPerDim: Float32Array;
  loss: number;
  gradients: Record<string, Float32Array>;
  losses: number[];
  gradNorms: number[];
  weights: Record<string, Float32Array>;
}

/** Lets Node run finalizers, which is when Dawn frees the last step's objects (see backend.ts). */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** Everything compared, computed on the current backend from the same seeds. */
async function measure(): Promise<Numbers> {
  const images = syntheticImages(32);
  const model = createModel(CONFIG, 0);
  const shape: [number, number, number, number] = [BATCH, 8, 8, 1];
  const first = trainingBatch(images, BATCH, N_BITS, 5, 0);
  tf.tidy(() => model.initialise(tf.tensor4d(first, shape)));
  // Away from the identity-like start, so couplings and priors carry real gradients.
  perturb(model.params, 0.05);
  const x = tf.tensor4d(first, shape);
  const logProb = model.logProb(x).dataSync() as Float32Array;
  const bpd = bitsPerDim(model, x, N_BITS).dataSync() as Float32Array;
  const { loss, grads } = batchGradients(model, first, BATCH, N_BITS, BATCH);
  const gradients = Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, g.dataSync() as Float32Array]));
  tf.dispose([x, ...Object.values(grads)]);

  const optimizer = new Optimizer(resolveOptimizerConfig({ lr: 1e-3, warmup: 0 }), model.params.variables);
  const losses: number[] = [];
  const gradNorms: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    const batch = batchGradients(model, trainingBatch(images, BATCH, N_BITS, 5, step), BATCH, N_BITS, BATCH);
    const norm = Optimizer.gradNorm(batch.grads);
    optimizer.apply(batch.grads, norm);
    tf.dispose(Object.values(batch.grads));
    losses.push(batch.loss);
    gradNorms.push(norm);
    await nextTurn();
  }
  const weights = Object.fromEntries([...model.params.variables].map(([name, v]) => [name, v.dataSync() as Float32Array]));
  optimizer.dispose();
  model.dispose();
  return { logProb, bitsPerDim: bpd, loss, gradients, losses, gradNorms, weights };
}

/** Largest |a - b| / (1 + |b|) over everything, for the log line. */
function worst(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  let m = 0;
  for (const [name, values] of Object.entries(b)) values.forEach((v, i) => (m = Math.max(m, Math.abs(a[name][i] - v) / (1 + Math.abs(v)))));
  return m;
}

const adapter: { report: BackendReport } | { reason: string } = await initBackend({ force: 'webgpu' }).then(
  (report) => ({ report }),
  (err: Error) => ({ reason: err.message }),
);
const reason = 'reason' in adapter ? adapter.reason : '';
const inCi = process.env.CI === 'true';

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('webgpu in CI', () => {
  it.runIf(inCi && reason !== '')('has an adapter (lavapipe from bookworm-backports, installed by .ci/run)', () => {
    expect.fail(`CI=true but WebGPU is unavailable: ${reason}`);
  });
});

describe.skipIf(reason !== '')(reason ? `webgpu matches cpu — skipped: ${reason}` : 'webgpu matches cpu', () => {
  it('forward pass, gradients and a few training steps', async () => {
    if ('report' in adapter) console.info(describeBackend(adapter.report));
    await initBackend({ force: 'cpu' });
    const cpu = await measure();
    await initBackend({ force: 'webgpu' });
    expect(tf.getBackend()).toBe('webgpu');
    const t0 = performance.now();
    const gpu = await measure();
    const seconds = (performance.now() - t0) / 1000;
    await initBackend({ force: 'cpu' });
    console.info(
      `webgpu vs cpu: log p max |diff| ${Math.max(...gpu.logProb.map((v, i) => Math.abs(v - cpu.logProb[i])))}, ` +
        `gradient max |diff|/(1+|cpu|) ${worst(gpu.gradients, cpu.gradients)}, ` +
        `weights after ${STEPS} steps ${worst(gpu.weights, cpu.weights)}; webgpu measure() took ${seconds.toFixed(1)} s`,
    );

    expectClose(gpu.logProb, cpu.logProb, TOLERANCE.logProb.atol, TOLERANCE.logProb.rtol);
    expectClose(gpu.bitsPerDim, cpu.bitsPerDim, TOLERANCE.logProb.atol, TOLERANCE.logProb.rtol);
    expectClose(gpu.loss, cpu.loss, TOLERANCE.logProb.atol, TOLERANCE.logProb.rtol);
    expect(Object.keys(gpu.gradients).sort()).toEqual(Object.keys(cpu.gradients).sort());
    for (const [name, g] of Object.entries(cpu.gradients)) {
      expect(g.some((v) => v !== 0), `${name} has a non-zero gradient`).toBe(true);
      expectClose(gpu.gradients[name], g, TOLERANCE.gradient.atol, TOLERANCE.gradient.rtol);
    }
    expectClose(gpu.losses, cpu.losses, TOLERANCE.logProb.atol, TOLERANCE.logProb.rtol);
    // The norm sums one term per parameter (more than a device binds at once by default).
    expectClose(gpu.gradNorms, cpu.gradNorms, TOLERANCE.gradient.atol, TOLERANCE.gradient.rtol);
    for (const [name, w] of Object.entries(cpu.weights)) {
      expectClose(gpu.weights[name], w, TOLERANCE.weightsAfterTraining.atol, TOLERANCE.weightsAfterTraining.rtol);
    }
  });
});
