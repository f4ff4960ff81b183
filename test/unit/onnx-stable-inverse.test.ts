// The far tail of the affine coupling's scale: the traced graphs compute a sigmoid to float64's
// relative precision where it is ~1e-7 (onnxruntime's own Sigmoid is off by up to half there),
// and a sample whose coupling divides by such a scale comes out the same on onnxruntime and tfjs.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { initBackend } from '../../main/engine/backend.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { drawNoise } from '../../main/engine/models/flow-model.ts';
import { OnnxSampler } from '../../main/engine/onnx/onnx-sampler.ts';
import { createSession, loadOrt } from '../../main/engine/onnx/runtime.ts';
import { traceToOnnx } from '../../main/engine/onnx/trace-backend.ts';
import { Rng } from '../../main/engine/random.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { couplingScaleInTail } from '../helpers/perturb.ts';

const loaded = loadOrt();
const ort = 'ort' in loaded ? loaded.ort : null;
const why = 'reason' in loaded ? ` — skipped: ${loaded.reason}` : '';

describe.skipIf(!ort)(`Stable inverses on onnxruntime${why}`, () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('computes a traced sigmoid to float64 precision in the far tail', async () => {
    const xs = Float32Array.from([-40, -30, -25, -20, -17, -16, -15, -13, -10, -5, -1, 0, 1, 5, 13, 20]);
    const input = tf.tensor1d(xs);
    const graph = traceToOnnx('sigmoid', { x: input }, () => ({ y: tf.sigmoid(input) }));
    input.dispose();
    const session = await createSession(ort!, graph, 1);
    try {
      const { y } = await session.run({ x: new ort!.Tensor('float32', xs, [xs.length]) });
      const got = y.data as Float32Array;
      xs.forEach((x, i) => {
        const want = 1 / (1 + Math.exp(-x));
        // A float32 input is exact; the error is float32 rounding inside softplus and exp.
        expect(Math.abs(got[i] - want) / want, `sigmoid(${x})`).toBeLessThan(1e-5);
      });
    } finally {
      await session.release();
    }
  });

  it('samples the same images on onnxruntime and tfjs where a coupling scale is ~1e-7', async () => {
    const model = createModel({ kind: 'glow', size: 8, channels: 3, levels: 2, depth: 2, hidden: 16 }, 0);
    const name = couplingScaleInTail(model.params);
    const sampler = await OnnxSampler.create(ort!, model, 4, 1);
    try {
      const noise = drawNoise(model, 4, 0.7, new Rng(0));
      const want = model.sampleFromNoise(noise, 4);
      const got = await sampler.sample(noise);
      // The tail is reached: the images leave the data range by several orders of magnitude.
      expect(Math.max(...got.map(Math.abs)), name).toBeGreaterThan(1e4);
      expectClose(got, want, 1e-4, 1e-4);
      want.dispose();
    } finally {
      await sampler.dispose();
      model.dispose();
    }
  });
});
