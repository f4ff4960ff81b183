// The hand-written convolution gradients (used on wasm) against the cpu backend's native
// kernels, for 1x1 and 3x3 filters, 'same' and 'valid' padding, odd sizes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { conv1x1, conv2d } from '../../main/engine/ops/conv2d.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { randomInput } from '../helpers/perturb.ts';

function gradients(padding: 'same' | 'valid', k: number, fn: typeof conv2d) {
  const x = randomInput([2, 5, 7, 3], 1, 1);
  const f = randomInput([k, k, 3, 4], 2, 1);
  const target = randomInput(padding === 'same' ? [2, 5, 7, 4] : [2, 6 - k, 8 - k, 4], 3, 1);
  const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(fn(a as tf.Tensor4D, b as tf.Tensor4D, padding), target));
  const [dx, df] = tf.grads(loss)([x, f]);
  return { y: fn(x, f, padding).dataSync().slice(), dx: dx.dataSync().slice(), df: df.dataSync().slice() };
}

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('conv2d with hand-written gradients', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  for (const padding of ['same', 'valid'] as const) {
    for (const k of [1, 3]) {
      it(`wasm matches cpu's native gradients (k=${k}, ${padding})`, async () => {
        await tf.setBackend('cpu');
        const native = gradients(padding, k, (x, f, p) => tf.conv2d(x, f, 1, p ?? 'same'));
        await tf.setBackend('wasm');
        const custom = gradients(padding, k, conv2d);
        expectClose(custom.y, native.y, 1e-4, 1e-4);
        expectClose(custom.dx, native.dx, 1e-4, 1e-4);
        expectClose(custom.df, native.df, 1e-4, 1e-4);
      });
    }
  }

  it('conv1x1 gradients on wasm match a cpu matMul', async () => {
    const run = () => {
      const x = randomInput([2, 3, 5, 4], 4, 1);
      const w = tf.reshape(randomInput([1, 1, 4, 6], 5, 1), [4, 6]) as tf.Tensor2D;
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(conv1x1(a as tf.Tensor4D, b as tf.Tensor2D))))([x, w]);
      return [dx.dataSync().slice(), dw.dataSync().slice()];
    };
    await tf.setBackend('cpu');
    const native = run();
    await tf.setBackend('wasm');
    const custom = run();
    expectClose(custom[0], native[0], 1e-4, 1e-4);
    expectClose(custom[1], native[1], 1e-4, 1e-4);
  });

  it('leaks no tensors over repeated gradient steps on wasm', async () => {
    await tf.setBackend('wasm');
    const f = tf.variable(randomInput([3, 3, 3, 4], 2, 1));
    const x = randomInput([2, 5, 7, 3], 1, 1);
    const step = () => tf.tidy(() => tf.variableGrads(() => tf.sum(tf.square(conv2d(x, f as unknown as tf.Tensor4D))) as tf.Scalar, [f]).grads[f.name].dataSync());
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(before);
  });
});
