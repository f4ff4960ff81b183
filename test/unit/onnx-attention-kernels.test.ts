// The kernels attention (TarFlow) and velocity fields (flow matching) add to the tracer: each
// alone gives tfjs's values and shapes on onnxruntime, broadcasting included, as training traces
// and with every kernel run and its shape rule checked. The models themselves are checked whole in
// onnx-gradients.test.ts (TarFlow's loss and gradients, every model's graphs under the shape check)
// and flow-matching-train.test.ts (flow matching's gradients).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { initBackend } from '../../main/engine/backend.ts';
import { loadOrt } from '../../main/engine/onnx/runtime.ts';
import { setTraceShapeCheck } from '../../main/engine/onnx/trace-backend.ts';
import { Rng } from '../../main/engine/random.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { bothWays, type Inputs } from '../helpers/onnx-both-ways.ts';

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
    });
  }
});
