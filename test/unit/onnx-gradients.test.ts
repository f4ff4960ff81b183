// The onnxruntime path: a model's loss and gradients traced from its tfjs code into one ONNX
// graph agree with tfjs's own on every kind of flow; convolutions written as matMuls equal
// conv2d and its gradients; class-conditional Glow, TarFlow and flow matching take their classes as
// an input; a trace refuses what a graph cannot express, naming it; a short
// run on the 'onnx' backend really learns.
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../../main/engine/backend.ts';
import type { ModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { OnnxGradients } from '../../main/engine/onnx/onnx-gradients.ts';
import { loadOrt } from '../../main/engine/onnx/runtime.ts';
import { forwardGraph } from '../../main/engine/onnx/onnx-forward.ts';
import { samplingGraph } from '../../main/engine/onnx/onnx-sampler.ts';
import { setTraceShapeCheck, traceToOnnx } from '../../main/engine/onnx/trace-backend.ts';
import { trainingGraph } from '../../main/engine/onnx/onnx-gradients.ts';
import { convAsMatMul } from '../../main/engine/ops/conv-as-matmul.ts';
import { Rng } from '../../main/engine/random.ts';
import { batchGradients } from '../../main/engine/train/gradients.ts';
import { drawValues } from '../../main/engine/train/batches.ts';
import { scoringNoiseOf, stepInputsOf, trainingNoiseOf } from '../../main/engine/models/flow-model.ts';
import { oneHot } from '../../main/engine/data/one-hot.ts';
import { train } from '../../main/engine/train/trainer.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { perturb, randomInput } from '../helpers/perturb.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

const loaded = loadOrt();
const ort = 'ort' in loaded ? loaded.ort : null;
const why = 'reason' in loaded ? ` — skipped: ${loaded.reason}` : '';

describe('convolutions as matMuls', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  // Narrow in (im2col), wide in (per-tap products folded), 'valid' and an even kernel.
  const cases: [string, number[], 'same' | 'valid'][] = [
    ['narrow input', [3, 3, 2, 5], 'same'],
    ['wide input', [3, 3, 5, 2], 'same'],
    ['wide input, valid', [3, 3, 6, 3], 'valid'],
    ['even kernel', [2, 2, 4, 3], 'same'],
    ['1x1', [1, 1, 3, 4], 'same'],
  ];
  for (const [name, shape, padding] of cases) {
    it(`equals conv2d and its gradients: ${name}, ${padding}`, () => {
      const x = randomInput([2, 5, 6, shape[2]], 1);
      const w = tf.tensor4d(new Rng(2).fillNormal(new Float32Array(shape.reduce((a, b) => a * b)), 0.5), shape as [number, number, number, number]);
      const bias = tf.tensor1d(new Rng(3).fillNormal(new Float32Array(shape[3]), 0.5));
      const dy = (y: tf.Tensor) => tf.sum(tf.mul(y, tf.sin(tf.range(0, y.size).reshape(y.shape))));
      const ref = (a: tf.Tensor4D, f: tf.Tensor4D, b: tf.Tensor1D) => tf.relu(tf.add(tf.conv2d(a, f, 1, padding), b));
      const ours = (a: tf.Tensor4D, f: tf.Tensor4D, b: tf.Tensor1D) => convAsMatMul(a, f, b, 'relu', padding);
      expectClose(ours(x, w, bias), ref(x, w, bias), 1e-5, 1e-5);
      const g1 = tf.grads((a, f, b) => dy(ref(a as tf.Tensor4D, f as tf.Tensor4D, b as tf.Tensor1D)))([x, w, bias]);
      const g2 = tf.grads((a, f, b) => dy(ours(a as tf.Tensor4D, f as tf.Tensor4D, b as tf.Tensor1D)))([x, w, bias]);
      for (let i = 0; i < 3; i++) expectClose(g2[i], g1[i], 1e-4, 1e-4);
    });
  }
});

describe.skipIf(!ort)(`ONNX training graphs${why}`, () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
  });

  const models: [string, ModelConfig][] = [
    ['Glow, affine, invertible 1x1', { kind: 'glow', size: 8, channels: 3, levels: 2, depth: 2, hidden: 16 }],
    ['Glow, additive, shuffle', { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 2, hidden: 8, coupling: 'additive', permutation: 'shuffle' }],
    ['Glow before model format 2 (bias networks, per-position top prior)', { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8, couplingNet: 'bias', topPrior: 'position' }],
    ['RealNVP', { kind: 'realnvp', size: 8, channels: 3, levels: 2, depth: 2, hidden: 16 }],
    ['Glow, spline', { kind: 'glow', size: 8, channels: 3, levels: 2, depth: 2, hidden: 16, coupling: 'spline', bins: 6, tailBound: 2 }],
    ['RealNVP, spline', { kind: 'realnvp', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8, coupling: 'spline', bins: 4, tailBound: 2 }],
    ['NICE', { kind: 'nice', size: 8, channels: 1, depth: 4, hidden: 32 }],
    ['TarFlow (two blocks, the second reversed)', { kind: 'tarflow', size: 8, channels: 3, patch: 2, depth: 2, hidden: 32, attnLayers: 2, headDim: 16 }],
  ];
  for (const [name, config] of models) {
    it(`gives tfjs's loss and gradients: ${name}`, async () => {
      const model = createModel(config, 0);
      const { size, channels } = model.config;
      const batch = 3;
      const data = new Rng(3).fillUniform(new Float32Array(batch * size * size * channels)).map((v) => v - 0.5);
      model.initialise(tf.tensor4d(data, [batch, size, size, channels]));
      // A spline's gradient through its log-slope (y''/y') is steep: float32 rounding differences
      // grow with its parameters, so that tfjs's own cpu and wasm backends disagree beyond these
      // tolerances on 18% of a spline Glow's gradients after a 0.05 nudge (measured); 0.02 keeps it comparable.
      perturb(model.params, 'coupling' in config && config.coupling === 'spline' ? 0.02 : 0.05);
      const onnx = await OnnxGradients.create(ort!, model, batch, 8, 1);
      try {
        const want = batchGradients(model, data, batch, 8, batch);
        const got = await onnx.gradients(data);
        expect(got.loss).toBeCloseTo(want.loss, 4);
        expect(Object.keys(got.grads).sort()).toEqual(Object.keys(want.grads).sort());
        for (const key of Object.keys(want.grads)) expectClose(got.grads[key], want.grads[key], 1e-4, 1e-3);
        tf.dispose([...Object.values(want.grads), ...Object.values(got.grads)]);
      } finally {
        await onnx.dispose();
        model.dispose();
      }
    });
  }

  // Each with the parameter its class embedding trains.
  const conditional: [string, ModelConfig, string][] = [
    ['Glow', { kind: 'glow', size: 8, channels: 3, levels: 2, depth: 1, hidden: 8, classes: 3, classWeight: 0.5 }, 'classes.embedding.weight'],
    ['TarFlow', { kind: 'tarflow', size: 8, channels: 3, patch: 2, depth: 2, hidden: 32, attnLayers: 1, headDim: 16, classes: 3 }, 'block1.class'],
    ['flow matching', { kind: 'flow-matching', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8, classes: 3 }, 'velocity.class.weight'],
  ];
  for (const [name, config, embedding] of conditional) {
    it(`gives tfjs's loss and gradients for a class-conditional ${name}, with its classes as one more input`, async () => {
      const model = createModel(config, 0);
      const { size, channels } = model.config;
      const batch = 4;
      const data = new Rng(3).fillUniform(new Float32Array(batch * size * size * channels)).map((v) => v - 0.5);
      model.initialise(tf.tensor4d(data, [batch, size, size, channels]));
      // Moves the class embedding (and Glow's head) off zero, so the class changes the loss and its gradients.
      perturb(model.params, 0.05);
      // Three classes and one image without a class (an all-zero row: no embedding, no class loss).
      const noise = drawValues(trainingNoiseOf(model), batch, new Rng(4));
      const inputs = [...noise, oneHot([2, 0, -1, 1], 3)];
      expect(stepInputsOf(model).map((s) => s.name).at(-1)).toBe('classes');
      const onnx = await OnnxGradients.create(ort!, model, batch, 8, 1);
      try {
        const want = batchGradients(model, data, batch, 8, batch, batch, inputs);
        const got = await onnx.gradients(data, inputs);
        expect(got.loss).toBeCloseTo(want.loss, 4);
        const unconditional = batchGradients(model, data, batch, 8, batch, batch, [...noise, new Float32Array(batch * 3)]);
        // The classes are really an input of the graph: without them the loss is another.
        expect(Math.abs(unconditional.loss - want.loss)).toBeGreaterThan(1e-4);
        expect(Object.keys(got.grads).sort()).toEqual(Object.keys(want.grads).sort());
        expect(Object.keys(want.grads)).toContain(embedding);
        for (const key of Object.keys(want.grads)) expectClose(got.grads[key], want.grads[key], 1e-4, 1e-3);
        tf.dispose([...Object.values(want.grads), ...Object.values(got.grads), ...Object.values(unconditional.grads)]);
      } finally {
        await onnx.dispose();
        model.dispose();
      }
    });
  }

  for (const restoreTask of ['upscale-2', 'inpaint'] as const) {
    it(`gives tfjs's loss and gradients for a Glow trained for ${restoreTask}, its degradation values one more input`, async () => {
      const model = createModel({ kind: 'glow', size: 8, channels: 3, levels: 2, depth: 1, hidden: 8, restoreTask }, 0);
      const { size, channels } = model.config;
      const batch = 4;
      const data = new Rng(3).fillUniform(new Float32Array(batch * size * size * channels)).map((v) => v - 0.5);
      model.initialise(tf.tensor4d(data, [batch, size, size, channels]));
      // Moves the couplings' last layers off zero, so the observation's features change the loss.
      perturb(model.params, 0.05);
      const degradation = drawValues(scoringNoiseOf(model), batch, new Rng(4));
      const onnx = await OnnxGradients.create(ort!, model, batch, 8, 1);
      try {
        const want = batchGradients(model, data, batch, 8, batch, batch, degradation);
        const got = await onnx.gradients(data, degradation);
        expect(got.loss).toBeCloseTo(want.loss, 4);
        // The values are really an input of the graph: other holes or roundings give another loss.
        const other = await onnx.gradients(data, drawValues(scoringNoiseOf(model), batch, new Rng(5)));
        expect(Math.abs(other.loss - want.loss)).toBeGreaterThan(1e-4);
        expect(Object.keys(got.grads).sort()).toEqual(Object.keys(want.grads).sort());
        expect(Object.keys(want.grads)).toContain('observation.conv1.weight');
        for (const key of Object.keys(want.grads)) expectClose(got.grads[key], want.grads[key], 1e-4, 1e-3);
        tf.dispose([...Object.values(want.grads), ...Object.values(got.grads), ...Object.values(other.grads)]);
      } finally {
        await onnx.dispose();
        model.dispose();
      }
    });
  }

  it('skips computing traced kernels only where its shape rules agree with the kernels', () => {
    // With the check on, every kernel runs for real and its outputs must match the rule's. Flow
    // matching's gradients are checked in flow-matching-train.test.ts; its graphs here, its ODE's too.
    setTraceShapeCheck(true);
    const flowMatching: ModelConfig = { kind: 'flow-matching', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8, solver: 'heun', odeSteps: 2 };
    try {
      for (const config of [...models.map(([, c]) => c), flowMatching]) {
        const model = createModel(config, 0);
        const { size, channels } = model.config;
        model.initialise(tf.tensor4d(new Rng(1).fillUniform(new Float32Array(2 * size * size * channels)).map((v) => v - 0.5), [2, size, size, channels]));
        for (const graph of [trainingGraph(model, 2, 8), samplingGraph(model, 2), forwardGraph(model, 2)]) expect(graph.nodes.length).toBeGreaterThan(10);
        model.dispose();
      }
    } finally {
      setTraceShapeCheck(false);
    }
  });

  it('refuses to trace code that reads a computed value back, or a kernel it cannot write', () => {
    const x = tf.ones([2, 2]);
    expect(() => traceToOnnx('read', { x }, () => ({ y: tf.mul(x, tf.mul(x, 2).dataSync()[0]) }))).toThrow(/reads back a value computed from its inputs/);
    expect(() => traceToOnnx('atan', { x }, () => ({ y: tf.atan(x) }))).toThrow(/kernel Atan has no ONNX export/);
    // A failed trace leaves tfjs on wasm, working.
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.sum(x).dataSync()[0]).toBe(4);
    x.dispose();
  });

  describe('a run on the onnx backend', () => {
    const runsDir = join(tmpdir(), `flowdesk-onnx-${process.pid}`);
    let folder: Awaited<ReturnType<typeof makeImageFolder>>;
    afterAll(async () => {
      await folder?.cleanup();
      await rm(runsDir, { recursive: true, force: true });
    });

    it('learns: validation bits per dim fall', async () => {
      folder = await makeImageFolder({ count: 64, size: 8, channels: 1, pattern: 'stripes' });
      const events: string[] = [];
      const result = await train({
        folder: folder.dir,
        model: { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 2, hidden: 16 },
        train: { steps: 60, batch: 16, evalEvery: 60, checkpointEvery: 60, lr: 5e-3, warmup: 10, seed: 1 },
        runsDir,
        backend: 'onnx',
        cacheDir: null,
        onEvent: (e) => events.push(e.type === 'start' ? `start:${e.backend}` : e.type === 'phase' ? `phase:${e.phase}` : e.type),
      });
      // Loading the images comes first, then the run starts on onnx.
      expect(events.slice(0, 2)).toEqual(['phase:loading-images', 'start:onnx']);
      expect(result.step).toBe(60);
      expect(result.valBpd!).toBeLessThan(result.initialValBpd! - 1);
    });
  });
});
