// Inference on onnxruntime: the traced decoder gives the images tfjs gives from the same noise,
// for every kind of flow, and stays right after the weights change (the invertible 1x1
// convolution's inverse is a graph input recomputed from the new weights, not a stale constant);
// encoding and bits per dim match tfjs across padded batches.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { initBackend } from '../../main/engine/backend.ts';
import type { ModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { bitsPerDim, drawNoise, scoringNoiseOf, scoringNoiseTensors } from '../../main/engine/models/flow-model.ts';
import type { ImageSet } from '../../main/engine/data/index.ts';
import { drawValues } from '../../main/engine/train/batches.ts';
import { bitsPerDimOfSet } from '../../main/engine/train/evaluate.ts';
import { OnnxSampler } from '../../main/engine/onnx/onnx-sampler.ts';
import { loadOrt } from '../../main/engine/onnx/runtime.ts';
import { Rng } from '../../main/engine/random.ts';
import { runtimeFor } from '../../main/engine/runtime/runtime-for.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { perturb } from '../helpers/perturb.ts';

/** `count` random 8x8 gray images. */
function imageSet(count: number, seed: number): ImageSet {
  const pixels = Uint8Array.from(new Rng(seed).fillUniform(new Float32Array(count * 64), 256), Math.floor);
  return { size: 8, channels: 1, count, pixels, paths: Array.from({ length: count }, (_, i) => `image-${i}.png`), labels: null, classes: [] };
}

const loaded = loadOrt();
const ort = 'ort' in loaded ? loaded.ort : null;
const why = 'reason' in loaded ? ` — skipped: ${loaded.reason}` : '';

describe.skipIf(!ort)(`ONNX inference${why}`, () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
  });

  const models: [string, ModelConfig][] = [
    ['Glow', { kind: 'glow', size: 8, channels: 3, levels: 2, depth: 2, hidden: 16 }],
    ['Glow before model format 2', { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8, couplingNet: 'bias', topPrior: 'position' }],
    ['RealNVP', { kind: 'realnvp', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8 }],
    ['Glow, spline', { kind: 'glow', size: 8, channels: 3, levels: 2, depth: 2, hidden: 16, coupling: 'spline', bins: 6, tailBound: 2 }],
    ['RealNVP, spline', { kind: 'realnvp', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8, coupling: 'spline', bins: 4, tailBound: 2 }],
    ['NICE', { kind: 'nice', size: 8, channels: 1, depth: 4, hidden: 32 }],
  ];
  for (const [name, config] of models) {
    it(`draws tfjs's images from the same noise, before and after the weights change: ${name}`, async () => {
      const model = createModel(config, 0);
      perturb(model.params, 0.05);
      const sampler = await OnnxSampler.create(ort!, model, 5, 1);
      try {
        for (const round of [0, 1]) {
          if (round === 1) perturb(model.params, 0.05, 11);
          const noise = drawNoise(model, 5, 0.8, new Rng(round));
          const want = model.sampleFromNoise(noise, 5);
          expectClose(await sampler.sample(noise), want, 1e-4, 1e-4);
          want.dispose();
        }
      } finally {
        await sampler.dispose();
        model.dispose();
      }
    });
  }

  it('is what the model\'s runtime samples with on the onnx backend, with model.sample\'s images', async () => {
    await initBackend({ force: 'onnx' });
    const model = createModel(models[0][1], 1);
    perturb(model.params, 0.05);
    try {
      const want = model.sample(4, 0.7, new Rng(3));
      const runtime = runtimeFor(model, { threads: 1 });
      expect(runtime.kind).toBe('onnx');
      expectClose(await runtime.sample(4, 0.7, new Rng(3)), want, 1e-4, 1e-4);
      want.dispose();
      // A second call reuses the session: the tensor count does not grow.
      const before = tf.memory().numTensors;
      await runtime.sample(4, 0.7, new Rng(4));
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      model.dispose();
      await initBackend({ force: 'wasm' });
    }
  });

  it('encodes and scores as tfjs does, in padded batches of the traced size and below it', async () => {
    await initBackend({ force: 'onnx' });
    const model = createModel({ kind: 'glow', size: 8, channels: 1, levels: 2, depth: 2, hidden: 8 }, 2);
    perturb(model.params, 0.05);
    try {
      const runtime = runtimeFor(model, { threads: 1 });
      for (const n of [70, 5]) {
        const x = new Rng(n).fillUniform(new Float32Array(n * 64)).map((v) => v - 0.5);
        const input = tf.tensor4d(x, [n, 8, 8, 1]);
        const wantZs = model.encode(input);
        const wantBpd = bitsPerDim(model, input, 5);
        const gotZs = await runtime.encode(x, n);
        expect(gotZs.length).toBe(wantZs.length);
        gotZs.forEach((z, i) => expectClose(z, wantZs[i], 1e-4, 1e-4));
        expectClose(await runtime.bitsPerDim(x, n, 5), wantBpd, 1e-4, 1e-5);
        tf.dispose([input, ...wantZs, wantBpd, ...gotZs]);
      }
    } finally {
      model.dispose();
      await initBackend({ force: 'wasm' });
    }
  });

  it('scores a Glow trained for upscaling with its degradation values, encodes and decodes it under the empty observation, as tfjs does', async () => {
    await initBackend({ force: 'onnx' });
    const model = createModel({ kind: 'glow', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8, restoreTask: 'upscale-2' }, 2);
    perturb(model.params, 0.05);
    try {
      const runtime = runtimeFor(model, { threads: 1 });
      const n = 20;
      const x = new Rng(9).fillUniform(new Float32Array(n * 64)).map((v) => v - 0.5);
      const input = tf.tensor4d(x, [n, 8, 8, 1]);
      const values = drawValues(scoringNoiseOf(model), n, new Rng(10));
      const wantBpd = bitsPerDim(model, input, 8, undefined, scoringNoiseTensors(model, values, n));
      expectClose(await runtime.bitsPerDim(x, n, 8, values), wantBpd, 1e-4, 1e-5);
      const wantZs = model.encode(input);
      const gotZs = await runtime.encode(x, n);
      gotZs.forEach((z, i) => expectClose(z, wantZs[i], 1e-4, 1e-4));
      expectClose(await runtime.decode(gotZs), input, 1e-3, 1e-3);
      tf.dispose([input, wantBpd, ...wantZs, ...gotZs]);
    } finally {
      model.dispose();
      await initBackend({ force: 'wasm' });
    }
  });

  it('runs flow matching\'s fixed-step ODE on onnxruntime in traced runs of its inference batch, as tfjs does; long or adaptive solves stay on tfjs', async () => {
    await initBackend({ force: 'onnx' });
    const model = createModel({ kind: 'flow-matching', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8, solver: 'heun', odeSteps: 2 }, 3);
    perturb(model.params, 0.05);
    try {
      expect(model.inferenceTraces).toBe(true);
      const batch = model.inferenceBatch!;
      const n = batch + 2;
      const runtime = runtimeFor(model, { threads: 1 });
      const x = new Rng(7).fillUniform(new Float32Array(n * 64)).map((v) => v - 0.5);
      // Each image's Hutchinson probes, as an evaluation draws them.
      const probes = drawValues(scoringNoiseOf(model), n, new Rng(8));
      const input = tf.tensor4d(x, [n, 8, 8, 1]);
      const wantBpd = bitsPerDim(model, input, 8, undefined, scoringNoiseTensors(model, probes, n));
      expectClose(await runtime.bitsPerDim(x, n, 8, probes), wantBpd, 1e-4, 1e-4);
      const [wantZ] = model.encode(input);
      const [gotZ] = await runtime.encode(x, n);
      expectClose(gotZ, wantZ, 1e-4, 1e-4);
      const wantImages = model.decode([wantZ]);
      expectClose(await runtime.decode([wantZ]), wantImages, 1e-4, 1e-4);
      const wantSamples = model.sample(n, 1, new Rng(5));
      expectClose(await runtime.sample(n, 1, new Rng(5)), wantSamples, 1e-4, 1e-4);
      tf.dispose([wantBpd, input, wantZ, gotZ, wantImages, wantSamples]);
      // An evaluation gives every image the same estimate in the runs of 4 on onnxruntime, on two
      // replica threads and in one pass on the calling thread.
      const set = imageSet(11, 7);
      const onnx = await bitsPerDimOfSet(model, set, { nBits: 8, seed: 3 });
      for (const threads of [2, 1]) {
        runtimeFor(model, { backend: 'wasm', threads });
        expectClose(await bitsPerDimOfSet(model, set, { nBits: 8, seed: 3 }), onnx, 1e-4, 1e-4);
      }
      for (const long of [{ solver: 'rk4', odeSteps: 8 }, { solver: 'dopri5' }] as const) {
        const untraced = createModel({ kind: 'flow-matching', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8, ...long }, 3);
        expect(untraced.inferenceTraces).toBe(false);
        untraced.dispose();
      }
    } finally {
      model.dispose();
      await initBackend({ force: 'wasm' });
    }
  });
});
