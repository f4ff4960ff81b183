// Micro-batching: splitting a batch into passes and summing weighted gradients gives the
// full-batch loss and gradients; the automatic size keeps large models within the wasm heap.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import '@tensorflow/tfjs-backend-cpu';
import { resolveModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { autoMicroBatch, batchGradients } from '../../main/engine/train/gradients.ts';
import { Rng } from '../../main/engine/random.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { perturb } from '../helpers/perturb.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('batchGradients', () => {
  it('gives the same loss and gradients in 1, 2 or 5 passes', () => {
    const model = createModel({ kind: 'glow', size: 4, channels: 1, levels: 1, depth: 2, hidden: 8 }, 0);
    const data = new Rng(3).fillUniform(new Float32Array(5 * 16)).map((v) => v - 0.5);
    model.initialise(tf.tensor4d(data, [5, 4, 4, 1]));
    perturb(model.params, 0.1);
    const full = batchGradients(model, data, 5, 8, 5);
    for (const micro of [2, 1]) {
      const split = batchGradients(model, data, 5, 8, micro);
      expect(split.loss).toBeCloseTo(full.loss, 5);
      for (const name of Object.keys(full.grads)) expectClose(split.grads[name], full.grads[name], 1e-5, 1e-4);
      tf.dispose(Object.values(split.grads));
    }
  });

  it('picks smaller passes for bigger models', () => {
    const small = autoMicroBatch(resolveModelConfig({ kind: 'glow', size: 32, channels: 3, levels: 3, depth: 4, hidden: 128 }), 32);
    const large = autoMicroBatch(resolveModelConfig({ kind: 'glow', size: 32, channels: 3, levels: 3, depth: 8, hidden: 256 }), 32);
    expect(small).toBe(32);
    expect(large).toBeLessThan(32);
    expect(large).toBeGreaterThanOrEqual(1);
  });
});
