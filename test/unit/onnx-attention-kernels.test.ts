// The kernels attention (TarFlow) and velocity fields (flow matching) add to the tracer: each
// alone gives tfjs's values and shapes on onnxruntime, broadcasting included, and a TarFlow of
// two blocks and a small U-Net velocity field traced whole give tfjs's loss and gradients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { initBackend } from '../../main/engine/backend.ts';
import { squeeze, unsqueeze } from '../../main/engine/flows/squeeze.ts';
import { conv2dBias, denseBias } from '../../main/engine/ops/conv2d.ts';
import { loadOrt } from '../../main/engine/onnx/runtime.ts';
import { setTraceShapeCheck } from '../../main/engine/onnx/trace-backend.ts';
import { Rng } from '../../main/engine/random.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { bothWays, type Inputs } from '../helpers/onnx-both-ways.ts';
import { tarflowLogP, tarflowWeights, type TarflowShape } from '../helpers/tarflow-block.ts';

const loaded = loadOrt();
const ort = 'ort' in loaded ? loaded.ort : null;
const why = 'reason' in loaded ? ` — skipped: ${loaded.reason}` : '';

type Fn = (x: Record<string, tf.Tensor>) => Record<string, tf.Tensor>;

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const normal = (shape: number[], seed: number, std = 1): [Float32Array, number[]] => [new Rng(seed).fillNormal(new Float32Array(size(shape)), std), shape];
const positive = (shape: number[], seed: number): [Float32Array, number[]] => [new Rng(seed).fillUniform(new Float32Array(size(shape)), 3).map((v) => v + 0.05), shape];

/** The sum of `y` weighted by a fixed pattern, so that each element's gradient differs. */
const weighted = (y: tf.Tensor): tf.Scalar => tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape)))) as tf.Scalar;
const gradOf = (f: (v: tf.Tensor) => tf.Tensor, x: tf.Tensor) => tf.grad((v) => weighted(f(v)))(x);

/** A small U-Net velocity field on flow matching's loss: its weights, per-step inputs and loss. */
function flowMatchingCase(): { inputs: Inputs; weights: Inputs; loss: (v: Record<string, tf.Tensor>) => tf.Scalar } {
  const [n, side, channels, hidden] = [3, 4, 2, 4];
  const frequencies = [1, 4, 16];
  const weights: Inputs = {
    'time.w': normal([2 * frequencies.length, hidden], 20, 0.5),
    'time.b': normal([hidden], 21, 0.1),
    'in.w': normal([3, 3, channels, hidden], 22, 0.4),
    'in.b': normal([hidden], 23, 0.1),
    'norm.g': [normal([hidden], 24, 0.1)[0].map((g) => g + 1), [hidden]],
    'norm.b': normal([hidden], 25, 0.1),
    'mid.w': normal([3, 3, 4 * hidden, 4 * hidden], 26, 0.2),
    'mid.b': normal([4 * hidden], 27, 0.1),
    'out.w': normal([3, 3, 2 * hidden, channels], 28, 0.2),
    'out.b': normal([channels], 29, 0.1),
  };
  const silu = (y: tf.Tensor) => tf.mul(y, tf.sigmoid(y));
  // Two groups of hidden/2 channels, each normalised over space and the group.
  const groupNorm = (h: tf.Tensor4D, v: Record<string, tf.Tensor>) => {
    const grouped = tf.reshape(h, [n, side, side, 2, hidden / 2]);
    const centred = tf.sub(grouped, tf.mean(grouped, [1, 2, 4], true));
    const normed = tf.mul(centred, tf.rsqrt(tf.add(tf.mean(tf.square(centred), [1, 2, 4], true), 1e-5)));
    return tf.add(tf.mul(tf.reshape(normed, h.shape), v['norm.g']), v['norm.b']) as tf.Tensor4D;
  };
  // A sinusoidal time embedding added to every pixel, one level down by a squeeze and back up, a skip connection.
  const velocity = (xt: tf.Tensor4D, t: tf.Tensor, v: Record<string, tf.Tensor>) => {
    const angles = tf.mul(tf.reshape(t, [n, 1]), tf.tensor1d(frequencies));
    const embedding = silu(denseBias(tf.concat([tf.sin(angles), tf.cos(angles)], 1) as tf.Tensor2D, v['time.w'] as tf.Tensor2D, v['time.b'] as tf.Tensor1D));
    const h = tf.add(conv2dBias(xt, v['in.w'] as tf.Tensor4D, v['in.b'] as tf.Tensor1D), tf.reshape(embedding, [n, 1, 1, hidden])) as tf.Tensor4D;
    const skip = silu(groupNorm(h, v)) as tf.Tensor4D;
    const mid = unsqueeze(silu(conv2dBias(squeeze(skip), v['mid.w'] as tf.Tensor4D, v['mid.b'] as tf.Tensor1D)) as tf.Tensor4D);
    return conv2dBias(tf.concat([mid, skip], 3) as tf.Tensor4D, v['out.w'] as tf.Tensor4D, v['out.b'] as tf.Tensor1D);
  };
  // The conditional optimal-transport path from noise x0 to data x1: the target velocity is x1 - x0.
  const loss = (v: Record<string, tf.Tensor>) => {
    const t = tf.reshape(v.t, [n, 1, 1, 1]);
    const xt = tf.add(tf.mul(v.x0, tf.sub(1, t)), tf.mul(v.x1, t)) as tf.Tensor4D;
    return tf.mean(tf.square(tf.sub(velocity(xt, v.t, v), tf.sub(v.x1, v.x0)))) as tf.Scalar;
  };
  const inputs: Inputs = { x0: normal([n, side, side, channels], 30), x1: normal([n, side, side, channels], 31, 0.3), t: [Float32Array.of(0.1, 0.5, 0.9), [n]] };
  return { inputs, weights, loss };
}

/** Loss and gradients of every weight as onnx-gradients.ts traces a model's: tfjs variables as graph inputs. */
function lossAndGrads(loss: (x: Record<string, tf.Tensor>) => tf.Scalar, weightNames: string[]): Fn {
  return (x) => {
    const vars = weightNames.map((name) => x[name] as tf.Variable);
    const { value, grads } = tf.variableGrads(() => loss(x), vars);
    const out: Record<string, tf.Tensor> = { loss: value };
    weightNames.forEach((name, i) => (out[`grad:${name}`] = grads[vars[i].name]));
    return out;
  };
}

/** The largest |value| of each output whose name starts with `grad:`. */
const gradientSizes = (out: Record<string, Float32Array>) => Object.entries(out).flatMap(([key, g]) => (key.startsWith('grad:') ? [Math.max(...g.map(Math.abs))] : []));

// Each kernel on a few shapes, broadcasting ones included, and its gradient where it has one.
const kernelCases: [string, Inputs, Fn][] = [
  ['Rsqrt', { a: positive([2, 3], 1) }, ({ a }) => ({ y: tf.rsqrt(a), g: gradOf(tf.rsqrt, a) })],
  [
    'Pow, a broadcast exponent and a scalar one',
    { a: positive([2, 3], 2), b: normal([3], 3) },
    ({ a, b }) => ({ y: tf.pow(a, b), y15: tf.pow(a, 1.5), g: gradOf((v) => tf.pow(v, b), a), gb: gradOf((v) => tf.pow(a, v), b) }),
  ],
  ['Erf', { a: normal([2, 2, 5], 4, 2) }, ({ a }) => ({ y: tf.erf(a), g: gradOf(tf.erf, a) })],
  ['Tanh', { a: normal([3, 4], 5, 3) }, ({ a }) => ({ y: tf.tanh(a), g: gradOf(tf.tanh, a) })],
  ['Sin and Cos', { a: normal([2, 6], 6, 20) }, ({ a }) => ({ sin: tf.sin(a), cos: tf.cos(a), g: gradOf((v) => tf.add(tf.sin(v), tf.cos(v)), a) })],
  // tfjs's gradient of a broadcasting SquaredDifference is wrong-shaped, so values only there.
  [
    'SquaredDifference, broadcast',
    { a: normal([2, 3, 4], 7), b: normal([3, 1], 8) },
    ({ a, b }) => ({ y: tf.squaredDifference(a, b), g: gradOf((v) => tf.squaredDifference(v, tf.reverse(a, 2)), a) }),
  ],
  [
    'Equal, ties and broadcasting',
    { a: [Float32Array.of(1, 2, 3, 4, 5, 3), [2, 3]], b: [Float32Array.of(1, 5, 3), [3]] },
    ({ a, b }) => ({ y: tf.cast(tf.equal(a, b), 'float32') }),
  ],
  [
    'Max over one, several and every axis, kept or not, and logsumexp through it',
    { a: normal([2, 3, 4], 9) },
    ({ a }) => ({
      last: tf.max(a, -1),
      first: tf.max(a, 0, true),
      middle: tf.max(a, [0, 2]),
      all: tf.max(a),
      lse: tf.logSumExp(a, 1),
      g: gradOf((v) => tf.logSumExp(v, -1), a),
    }),
  ],
  [
    'Reverse along one axis and several',
    { a: normal([2, 3, 4], 10) },
    ({ a }) => ({ one: tf.reverse(a, 1), two: tf.reverse(a, [0, 2]), vector: tf.reverse(tf.reshape(a, [-1])), g: gradOf((v) => tf.reverse(v, 1), a) }),
  ],
  [
    'Tile of rank 2 and 3',
    { a: normal([2, 3], 11), b: normal([1, 2, 2], 12) },
    ({ a, b }) => ({ y: tf.tile(a, [2, 1]), z: tf.tile(b, [3, 1, 2]), g: gradOf((v) => tf.tile(v, [2, 3]), a) }),
  ],
];

/** Traces `fn` with the weights as variables; every output equal within the gradient tests' tolerances. */
async function expectSameTraining(inputs: Inputs, weights: Inputs, fn: Fn): Promise<Record<string, Float32Array>> {
  const { tfjs, onnx } = await bothWays(ort!, { ...inputs, ...weights }, fn, true);
  expect(Object.keys(onnx).sort()).toEqual(Object.keys(tfjs).sort());
  for (const key of Object.keys(tfjs)) expectClose(onnx[key], tfjs[key], 1e-4, 1e-3);
  return tfjs;
}

describe.skipIf(!ort)(`Attention and velocity-field kernels on onnxruntime${why}`, () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
  });
  afterAll(() => setTraceShapeCheck(false));

  // As training traces (a kernel fed by graph inputs and with a shape rule does not run), then
  // with every kernel run for real while traced and its shape rule checked against it.
  for (const checked of [false, true]) {
    describe(checked ? 'every kernel run and its shape rule checked' : 'as training traces', () => {
      beforeAll(() => setTraceShapeCheck(checked));

      for (const [name, inputs, fn] of kernelCases) {
        it(`${name}: tfjs's values and shapes`, async () => {
          const { tfjs, onnx, shapes } = await bothWays(ort!, inputs, fn);
          expect(shapes.onnx).toEqual(shapes.tfjs);
          for (const key of Object.keys(tfjs)) expectClose(onnx[key], tfjs[key], 1e-6, 1e-5);
        });
      }

      it("a TarFlow of two blocks (the second reversed), two layers each: tfjs's latent, log p, loss and gradients", async () => {
        const shape: TarflowShape = { tokens: 6, patchDim: 4, width: 16, headDim: 8, layers: 2, blocks: 2 };
        const weights = tarflowWeights(shape);
        const names = Object.keys(weights);
        const x = normal([3, shape.tokens, shape.patchDim], 13, 0.5);
        const nll = (v: Record<string, tf.Tensor>) => tf.neg(tf.mean(tarflowLogP(v.x, v, shape).logP)) as tf.Scalar;
        const tfjs = await expectSameTraining({ x }, weights, (v) => ({ ...tarflowLogP(v.x, v, shape), ...lossAndGrads(nll, names)(v) }));
        // The weights are far enough from the identity that the blocks move the patches, and every weight has a gradient.
        expect(Math.max(...tfjs.z.map((z, i) => Math.abs(z - x[0][i])))).toBeGreaterThan(0.1);
        expect(Math.min(...gradientSizes(tfjs))).toBeGreaterThan(1e-3);
      });

      it("a small U-Net velocity field (sin/cos time embedding, SiLU, group norm, squeeze and skip) on the flow-matching loss: tfjs's loss and gradients", async () => {
        const { inputs, weights, loss } = flowMatchingCase();
        const tfjs = await expectSameTraining(inputs, weights, lossAndGrads(loss, Object.keys(weights)));
        expect(Math.min(...gradientSizes(tfjs))).toBeGreaterThan(1e-3);
      });
    });
  }
});
