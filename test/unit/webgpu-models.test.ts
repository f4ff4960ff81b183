// The image models beside Glow on WebGPU: Glow with spline couplings, TarFlow and flow matching give
// the JavaScript backend's training loss and gradients on the same batch and noise, and train through
// the trainer (evaluations, checkpoints and sample grids included) with the live tensor count flat.
// Runs wherever Dawn finds an adapter (CI: lavapipe, a software one, so the run is short);
// backend-webgpu.test.ts fails CI when there is none.
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { initBackend } from '../../main/engine/backend.ts';
import type { ModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { trainingNoiseOf } from '../../main/engine/models/flow-model.ts';
import { Rng } from '../../main/engine/random.ts';
import { batchGradients } from '../../main/engine/train/gradients.ts';
import { train } from '../../main/engine/train/trainer.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';
import { perturb } from '../helpers/perturb.ts';

const MODELS: [string, ModelConfig][] = [
  ['Glow spline', { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8, coupling: 'spline', bins: 4 }],
  ['TarFlow', { kind: 'tarflow', size: 8, channels: 1, patch: 4, depth: 2, hidden: 16, attnLayers: 1, headDim: 8 }],
  ['flow matching', { kind: 'flow-matching', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8, odeSteps: 2 }],
];
const BATCH = 8;
const N_BITS = 5;
/** As backend-webgpu.test.ts: float32 on both, summed in different orders. */
const TOLERANCE = { loss: { atol: 1e-3, rtol: 1e-4 }, gradient: { atol: 1e-4, rtol: 1e-3 } };
const STEPS = 100;

const reason = await initBackend({ force: 'webgpu' }).then(
  () => '',
  (err: Error) => err.message,
);
const runsDir = join(tmpdir(), `flowdesk-webgpu-models-${process.pid}`);

afterAll(async () => {
  await initBackend({ force: 'cpu' });
  await rm(runsDir, { recursive: true, force: true });
});

/** The loss and gradients of one batch (with the model's training noise) on `backend`, from the same seeds. */
async function gradientsOn(backend: 'cpu' | 'webgpu', config: ModelConfig) {
  await initBackend({ force: backend });
  const model = createModel(config, 0);
  perturb(model.params, 0.05);
  const rng = new Rng(3);
  const data = rng.fillUniform(new Float32Array(BATCH * 64)).map((v) => v - 0.5);
  const noise = trainingNoiseOf(model).map((s) =>
    s.distribution === 'normal' ? rng.fillNormal(new Float32Array(BATCH * s.values)) : rng.fillUniform(new Float32Array(BATCH * s.values)),
  );
  const { loss, grads } = batchGradients(model, data, BATCH, N_BITS, BATCH, BATCH, noise);
  const values = Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, g.dataSync() as Float32Array]));
  tf.dispose(Object.values(grads));
  model.dispose();
  return { loss, grads: values };
}

describe.skipIf(reason !== '')(reason ? `image models on webgpu — skipped: ${reason}` : 'image models on webgpu', () => {
  for (const [name, config] of MODELS) {
    it(`${name}: the loss and gradients of the JavaScript backend`, async () => {
      const cpu = await gradientsOn('cpu', config);
      const gpu = await gradientsOn('webgpu', config);
      expectClose(gpu.loss, cpu.loss, TOLERANCE.loss.atol, TOLERANCE.loss.rtol);
      expect(Object.keys(gpu.grads).sort()).toEqual(Object.keys(cpu.grads).sort());
      for (const [param, g] of Object.entries(cpu.grads)) expectClose(gpu.grads[param], g, TOLERANCE.gradient.atol, TOLERANCE.gradient.rtol);
    }, 300_000);

    it(`${name}: trains ${STEPS} steps with the live tensor count flat`, async () => {
      const folder = await makeImageFolder({ count: 32, size: 8, channels: 1, pattern: 'blobs' });
      try {
        const tensors = new Map<number, number>();
        const result = await train({
          folder: folder.dir,
          model: config,
          train: { batch: BATCH, steps: STEPS, evalEvery: 40, checkpointEvery: 40, valImages: 8, sampleCount: 4, seed: 1 },
          runsDir,
          name: `webgpu-${name.replace(' ', '-')}`,
          cacheDir: null,
          backend: 'webgpu',
          onEvent: (e) => {
            if (e.type === 'step') tensors.set(e.step, tf.memory().numTensors);
          },
        });
        expect(result.step).toBe(STEPS);
        // Evaluations, checkpoints and grids at steps 40 and 80 leave nothing behind.
        for (const step of [39, 41, 79, 81, STEPS]) expect(tensors.get(step), `live tensors at step ${step}`).toBe(tensors.get(10));
      } finally {
        await folder.cleanup();
      }
    }, 600_000);
  }
});
