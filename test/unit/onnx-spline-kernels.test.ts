// The kernels spline couplings add to the tracer, one at a time: a traced graph run by
// onnxruntime gives tfjs's values, ties at the comparisons' and clamps' edges included, and the
// rational-quadratic spline traced whole (both directions and its gradients) gives tfjs's numbers.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { initBackend } from '../../main/engine/backend.ts';
import { RationalQuadraticSpline } from '../../main/engine/lab/transforms/rational-quadratic.ts';
import { loadOrt } from '../../main/engine/onnx/runtime.ts';
import { Rng } from '../../main/engine/random.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { bothWays } from '../helpers/onnx-both-ways.ts';

const loaded = loadOrt();
const ort = 'ort' in loaded ? loaded.ort : null;
const why = 'reason' in loaded ? ` — skipped: ${loaded.reason}` : '';

describe.skipIf(!ort)(`Spline kernels on onnxruntime${why}`, () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
  });

  // Ties: a equals b at 0.5 and -1, and the clamp's edges are hit exactly.
  const a = Float32Array.of(-2, -1, -0.25, 0, 0.5, 0.75, 1, 3);
  const b = Float32Array.of(-1, -1, 0, 0.1, 0.5, -0.75, 2, 2);

  const cases: [string, (x: Record<string, tf.Tensor>) => Record<string, tf.Tensor>, number[]][] = [
    ['Log', ({ a }) => ({ y: tf.log(tf.add(tf.abs(a), 0.1)) }), Array.from(a, (v) => Math.log(Math.abs(v) + 0.1))],
    ['GreaterEqual', ({ a, b }) => ({ y: tf.cast(tf.greaterEqual(a, b), 'float32') }), [0, 1, 0, 0, 1, 1, 0, 1]],
    ['LessEqual', ({ a, b }) => ({ y: tf.cast(tf.lessEqual(a, b), 'float32') }), [1, 1, 1, 1, 1, 0, 1, 0]],
    ['LogicalAnd', ({ a, b }) => ({ y: tf.cast(tf.logicalAnd(tf.greaterEqual(a, 0), tf.lessEqual(b, 0.5)), 'float32') }), [0, 0, 0, 1, 1, 1, 0, 0]],
    ['LogicalNot', ({ a, b }) => ({ y: tf.cast(tf.logicalNot(tf.greaterEqual(a, b)), 'float32') }), [1, 0, 1, 1, 0, 0, 1, 0]],
    ['ClipByValue', ({ a }) => ({ y: tf.clipByValue(a, -1, 0.75) }), [-1, -1, -0.25, 0, 0.5, 0.75, 0.75, 0.75]],
    ['Select', ({ a, b }) => ({ y: tf.where(tf.greaterEqual(a, b), a, b) }), [-1, -1, 0, 0.1, 0.5, 0.75, 2, 3]],
  ];
  for (const [name, fn, expected] of cases) {
    it(`${name} gives tfjs's values`, async () => {
      const { tfjs, onnx } = await bothWays(ort!, { a: [a, [8]], b: [b, [8]] }, fn);
      expectClose(tfjs.y, expected, 1e-4);
      expectClose(onnx.y, tfjs.y, 1e-6, 1e-6);
    });
  }

  it("Softmax over the last axis gives tfjs's values, and the clamp's gradient (And, LessEqual, Select) tfjs's", async () => {
    const logits = new Rng(1).fillNormal(new Float32Array(12), 2);
    const { tfjs, onnx } = await bothWays(ort!, { x: [logits, [3, 4]] }, ({ x }) => ({
      soft: tf.softmax(x),
      clipGrad: tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.clipByValue(v, -1, 1), v)))(x),
    }));
    for (let r = 0; r < 3; r++) expect(tfjs.soft.subarray(4 * r, 4 * r + 4).reduce((s, v) => s + v)).toBeCloseTo(1, 5);
    expectClose(onnx.soft, tfjs.soft, 1e-6, 1e-5);
    expectClose(onnx.clipGrad, tfjs.clipGrad, 1e-6, 1e-5);
  });

  it('the rational-quadratic spline traced whole: both directions, log-dets and gradients as tfjs', async () => {
    const [n, d, bins] = [6, 4, 5];
    const spline = new RationalQuadraticSpline(bins, 2);
    // Points inside and beyond the tail bound, parameters of moderate size.
    const x = Float32Array.from(new Rng(2).fillNormal(new Float32Array(n * d), 1.5));
    const params = new Rng(3).fillNormal(new Float32Array(n * d * spline.paramsPerDim), 0.8);
    const { tfjs, onnx } = await bothWays(ort!, { x: [x, [n, d]], p: [params, [n, d, spline.paramsPerDim]] }, ({ x, p }) => {
      const forward = spline.forward(x as tf.Tensor2D, p as tf.Tensor3D);
      const inverse = spline.inverse(forward.out, p as tf.Tensor3D);
      const loss = (v: tf.Tensor, q: tf.Tensor) => {
        const f = spline.forward(v as tf.Tensor2D, q as tf.Tensor3D);
        return tf.add(tf.sum(tf.square(f.out)), tf.sum(f.logDet)) as tf.Scalar;
      };
      const [gx, gp] = tf.grads(loss)([x, p]);
      return { y: forward.out, logDet: forward.logDet, back: inverse.out, backLogDet: inverse.logDet, gx, gp };
    });
    expectClose(tfjs.back, x, 1e-4);
    expectClose(tfjs.backLogDet, tfjs.logDet.map((v) => -v), 1e-4);
    for (const key of ['y', 'logDet', 'back', 'backLogDet', 'gx', 'gp']) expectClose(onnx[key], tfjs[key], 1e-5, 1e-4);
  });
});
