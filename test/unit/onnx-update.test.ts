// The whole training step on onnxruntime (loss, gradients, clipping and the Adam or Adamax update
// in one graph, moments kept as onnxruntime tensors) moves the weights and moments exactly as the
// tfjs optimizer does with the same gradients, over several steps with warmup and clipping; a
// non-finite step leaves weights, moments and the step count as they were; weights assigned
// between steps are the ones the next step reads. The weights a step writes stay with it until
// something reads the variables (ParamStore.lendWeights): every way of reading finds them.
import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { initBackend } from '../../main/engine/backend.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import type { FlowModel } from '../../main/engine/models/flow-model.ts';
import { exportWeights, importWeights } from '../../main/engine/models/model-io.ts';
import { OnnxGradients } from '../../main/engine/onnx/onnx-gradients.ts';
import { OnnxUpdate } from '../../main/engine/onnx/onnx-update.ts';
import { TfjsRuntime } from '../../main/engine/runtime/tfjs-runtime.ts';
import { loadOrt } from '../../main/engine/onnx/runtime.ts';
import { Rng } from '../../main/engine/random.ts';
import { Optimizer, resolveOptimizerConfig, type OptimizerConfig, type StepOutcome } from '../../main/engine/train/optimizer.ts';
import { flatValues, WeightAverage } from '../../main/engine/train/weight-average.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { perturb } from '../helpers/perturb.ts';

const loaded = loadOrt();
const ort = 'ort' in loaded ? loaded.ort : null;
const why = 'reason' in loaded ? ` — skipped: ${loaded.reason}` : '';

const config = { kind: 'glow', size: 8, channels: 3, levels: 2, depth: 2, hidden: 16 } as const;
const batch = 4;

function batchData(seed: number): Float32Array {
  return new Rng(seed).fillUniform(new Float32Array(batch * 8 * 8 * 3)).map((v) => v - 0.5);
}

/** Two identical initialised, perturbed models. */
function twins(): [FlowModel, FlowModel] {
  const a = createModel(config, 0);
  a.initialise(tf.tensor4d(batchData(1), [batch, 8, 8, 3]));
  perturb(a.params, 0.05);
  const b = createModel(config, 0);
  importWeights(b, exportWeights(a), 'twin');
  return [a, b];
}

function expectSameState(a: FlowModel, oa: Optimizer, b: FlowModel, ob: Optimizer): void {
  // onnxruntime and tfjs round the update's float32 arithmetic differently (reduction order, fused
  // ops): a few steps drift up to ~2e-6 on weights near 0.03; a 0.1% error in the step size
  // (lr 1e-3 for 5 steps) is 5e-6 and still fails.
  for (const [name, v] of a.params.variables) expectClose(b.params.variables.get(name)!, v, 2.5e-6, 1e-5);
  const sa = oa.exportState();
  const sb = ob.exportState();
  expect(sb.meta).toEqual(sa.meta);
  for (const [name, t] of Object.entries(sa.tensors)) expectClose(sb.tensors[name].data as Float32Array, t.data as Float32Array, 1e-7, 1e-5);
}

interface Twins {
  /** The reference: onnxruntime's gradients, the tfjs optimizer's update. */
  reference: (data: Float32Array) => Promise<StepOutcome>;
  /** The fused step on the twin model. */
  fused: OnnxUpdate;
  /** Checks that both models and optimizers hold the same state. */
  expectSame: () => void;
  fusedOptimizer: Optimizer;
  /** The reference's model and the fused step's. */
  models: [FlowModel, FlowModel];
}

/** Runs `body` with two identical models, one stepped by the reference and one by the fused step. */
async function withTwins(opt: OptimizerConfig, body: (t: Twins) => Promise<void>): Promise<void> {
  const [a, b] = twins();
  const oa = new Optimizer(resolveOptimizerConfig(opt), a.params.variables);
  const ob = new Optimizer(resolveOptimizerConfig(opt), b.params.variables);
  const grads = await OnnxGradients.create(ort!, a, batch, 8, 1);
  const fused = await OnnxUpdate.create(ort!, b, batch, 8, ob, 1);
  try {
    await body({ reference: async (data) => oa.update(await grads.gradients(data)), fused, expectSame: () => expectSameState(a, oa, b, ob), fusedOptimizer: ob, models: [a, b] });
  } finally {
    await Promise.all([grads.dispose(), fused.dispose()]);
    for (const d of [oa, ob, a, b]) d.dispose();
  }
}

describe.skipIf(!ort)(`the fused onnxruntime training step${why}`, () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
  });

  // A clip norm below the gradients' norm, so clipping acts; warmup so the rate changes each step.
  const settings: [string, OptimizerConfig][] = [
    ['Adam', { kind: 'adam', lr: 1e-2, warmup: 3, clipNorm: 0.05 }],
    ['Adamax', { kind: 'adamax', lr: 1e-2, warmup: 3, clipNorm: 0.05 }],
    ['Adam, no clipping', { kind: 'adam', lr: 1e-3, warmup: 0, clipNorm: 1e6 }],
  ];
  for (const [name, opt] of settings) {
    it(`updates weights and moments as the tfjs optimizer does from the same gradients: ${name}`, () =>
      withTwins(opt, async ({ reference, fused, expectSame, models: [, b] }) => {
        for (let step = 0; step < 5; step++) {
          const data = batchData(10 + step);
          const want = await reference(data);
          const got = await fused.update(data);
          expect(got.applied).toBe(true);
          // The weights it hands the moving average are the ones it left in the variables.
          expect(got.weights).toEqual(flatValues(b.params.variables.values()));
          expect(got.lr).toBe(want.lr);
          expect(got.loss).toBeCloseTo(want.loss, 5);
          // One sum over the flat gradient against tfjs's sum of per-tensor sums: float32 rounding.
          expect(Math.abs(got.gradNorm - want.gradNorm)).toBeLessThan(1e-5 * want.gradNorm);
          if (opt.clipNorm === 0.05) expect(want.gradNorm).toBeGreaterThan(0.05);
          // Export mid-run (a checkpoint) takes the moments back; the next step lends them again.
          if (step === 2) expectSame();
        }
        expectSame();
      }));
  }

  it('keeps weights, moments and the step count when the loss is not finite, then steps on', () =>
    withTwins({}, async ({ reference, fused, expectSame, fusedOptimizer }) => {
      await reference(batchData(20));
      await fused.update(batchData(20));
      const bad = await fused.update(new Float32Array(batch * 8 * 8 * 3).fill(Number.NaN));
      expect(bad.applied).toBe(false);
      expect(Number.isNaN(bad.loss)).toBe(true);
      expect(fusedOptimizer.step).toBe(1);
      expectSame();
      await reference(batchData(21));
      expect((await fused.update(batchData(21))).applied).toBe(true);
      expectSame();
    }));

  it('reads weights assigned between steps (a loaded checkpoint) instead of the ones it last wrote', () =>
    withTwins({}, async ({ reference, fused, expectSame, models: [a, b] }) => {
      await reference(batchData(40));
      await fused.update(batchData(40));
      // The same new weights in both models, every variable assigned as loading a checkpoint does.
      for (const model of [a, b]) perturb(model.params, 0.01, 11);
      await reference(batchData(41));
      await fused.update(batchData(41));
      expectSame();
    }));

  it('leaves the weights it wrote with the step until the variables are read through the store', () =>
    withTwins({}, async ({ fused, models: [, b] }) => {
      const first = b.params.variables.values().next().value!;
      const before = Array.from(first.dataSync());
      await fused.update(batchData(50));
      const got = await fused.update(batchData(51));
      const written = got.weights!.slice();
      // A layer's own reference still sees the old value: nothing was assigned after either step,
      // and the second read its weights from the first's output.
      expect(Array.from(first.dataSync())).toEqual(before);
      expect(Array.from(written.subarray(0, first.size))).not.toEqual(before);
      // Read through the store, every variable holds what the step wrote, the layer's reference too.
      expect(flatValues(b.params.variables.values())).toEqual(written);
      expect(Array.from(first.dataSync())).toEqual(Array.from(written.subarray(0, first.size)));
    }));

  it('scores with the newest weights on tfjs, whose layers read the variables themselves', () =>
    withTwins({}, async ({ reference, fused, models: [a, b] }) => {
      for (let step = 0; step < 2; step++) {
        await reference(batchData(60 + step));
        await fused.update(batchData(60 + step));
      }
      const x = batchData(70);
      const want = await new TfjsRuntime(a).bitsPerDim(x, batch, 8);
      const got = await new TfjsRuntime(b).bitsPerDim(x, batch, 8);
      for (let i = 0; i < batch; i++) expect(got[i]).toBeCloseTo(want[i], 5);
    }));

  it('keeps its step when the averaged weights are swapped in and back between steps', () =>
    withTwins({}, async ({ reference, fused, expectSame, models: [, b] }) => {
      const average = new WeightAverage(0.5, b.params.variables);
      await reference(batchData(80));
      average.update((await fused.update(batchData(80))).weights!);
      await average.swappedIn(async () => undefined);
      await reference(batchData(81));
      await fused.update(batchData(81));
      expectSame();
    }));

  it('keeps a value assigned through a variable\'s own reference while the weights were lent', () =>
    withTwins({}, async ({ reference, fused, expectSame, models: [a, b] }) => {
      // Taken before the step, as a layer holds it.
      const [name, own] = b.params.variables.entries().next().value!;
      await reference(batchData(90));
      await fused.update(batchData(90));
      // Not through the store: the step's weights are still lent when it is assigned.
      const value = tf.fill(own.shape, 0.25);
      own.assign(value);
      a.params.variables.get(name)!.assign(value);
      value.dispose();
      await reference(batchData(91));
      await fused.update(batchData(91));
      expectSame();
    }));

  it('hands the moments back to the optimizer when disposed', async () => {
    const [, b] = twins();
    const ob = new Optimizer(resolveOptimizerConfig({}), b.params.variables);
    const fused = await OnnxUpdate.create(ort!, b, batch, 8, ob, 1);
    await fused.update(batchData(30));
    await fused.dispose();
    const moved = Object.values(ob.exportState().tensors).some((t) => (t.data as Float32Array).some((x) => x !== 0));
    expect(moved).toBe(true);
    ob.dispose();
    b.dispose();
  });
});
