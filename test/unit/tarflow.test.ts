// TarFlow's maths on tiny configurations (4x4 images, patch 2: four patches): exact inversion,
// log-determinants against the brute-force Jacobian (one block and the whole model), the causal
// mask, the cached inverse against the uncached one, and the noise augmentation's denoising step.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import '@tensorflow/tfjs-backend-cpu';
import type { TarFlowConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { ParamStore } from '../../main/engine/flows/params.ts';
import { FlowBlock } from '../../main/engine/flows/tarflow/flow-block.ts';
import { patchify, unpatchify } from '../../main/engine/flows/tarflow/patches.ts';
import type { TarFlow } from '../../main/engine/models/tarflow.ts';
import { Rng } from '../../main/engine/random.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { bruteForceLogDet } from '../helpers/jacobian.ts';
import { perturb, randomInput } from '../helpers/perturb.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Two blocks (one in each patch order), two layers each, two heads: every path of the model. */
const TINY: TarFlowConfig = { kind: 'tarflow', size: 4, channels: 1, patch: 2, depth: 2, hidden: 16, attnLayers: 2, headDim: 8 };
const BLOCK = { tokens: 4, values: 4, width: 16, layers: 2, headDim: 8 };

/**
 * A model moved off its identity start: the zero output layers make an untrained TarFlow the
 * identity, where every test below would pass whatever the code did.
 */
function trainedLike(config: TarFlowConfig = TINY): TarFlow {
  const model = createModel(config, 1) as TarFlow;
  perturb(model.params, 0.05);
  return model;
}

function nudgedBlock(reversed: boolean): FlowBlock {
  const params = new ParamStore();
  const block = new FlowBlock(params.scope('block0'), BLOCK, reversed, new Rng(2));
  perturb(params, 0.2);
  return block;
}

describe('TarFlow', () => {
  it('patchify lays patches out row-major, values in (row, column, channel) order, and unpatchify undoes it', () => {
    // 4x4x2 image whose value encodes (y, x, c): patch 1 is the top-right 2x2.
    const x = tf.tensor4d(Array.from({ length: 32 }, (_, i) => i), [1, 4, 4, 2]);
    const seq = patchify(x, 2);
    expect(seq.shape).toEqual([1, 4, 8]);
    const at = (y: number, xx: number, c: number) => (y * 4 + xx) * 2 + c;
    expect([...tf.slice(seq, [0, 1, 0], [1, 1, 8]).dataSync()]).toEqual([at(0, 2, 0), at(0, 2, 1), at(0, 3, 0), at(0, 3, 1), at(1, 2, 0), at(1, 2, 1), at(1, 3, 0), at(1, 3, 1)]);
    expectClose(unpatchify(seq, 2, 4, 2), x, 0);
  });

  it('names its weights as the spec does, with the spec shapes', () => {
    const model = createModel({ ...TINY, depth: 1, attnLayers: 1 }, 0);
    const shapes = Object.fromEntries([...model.params.variables].map(([name, v]) => [name, v.shape]));
    expect(shapes).toEqual({
      'block0.in.w': [4, 16], 'block0.in.b': [16], 'block0.pos': [4, 16],
      'block0.layer0.norm1.g': [16], 'block0.layer0.norm1.b': [16], 'block0.layer0.qkv.w': [16, 48], 'block0.layer0.qkv.b': [48],
      'block0.layer0.proj.w': [16, 16], 'block0.layer0.proj.b': [16], 'block0.layer0.norm2.g': [16], 'block0.layer0.norm2.b': [16],
      'block0.layer0.mlp1.w': [16, 64], 'block0.layer0.mlp1.b': [64], 'block0.layer0.mlp2.w': [64, 16], 'block0.layer0.mlp2.b': [16],
      'block0.out.w': [16, 8], 'block0.out.b': [8],
    });
    // Zero output layers: the untrained model is the identity into a standard normal.
    const x = randomInput([2, 4, 4, 1], 3, 0.3);
    expectClose(model.encode(x)[0], x, 0);
  });

  it('decode(encode(x)) == x to 1e-4, and samples invert', () => {
    const model = trainedLike();
    const x = randomInput([3, 4, 4, 1], 2, 0.3);
    const [z] = model.encode(x);
    expect(tf.max(tf.abs(tf.sub(z, x))).dataSync()[0]).toBeGreaterThan(0.05); // not the identity
    expectClose(model.decode([z]), x, 1e-4);
    const s = model.sample(2, 0.7, new Rng(4));
    expect(s.shape).toEqual([2, 4, 4, 1]);
    expectClose(model.decode(model.encode(s)), s, 1e-4);
  });

  it('the KV-cached inverse gives the uncached inverse’s images', () => {
    const model = trainedLike({ ...TINY, size: 8, channels: 3, depth: 3 });
    const z = randomInput([2, 8, 8, 3], 6, 1);
    expectClose(model.inverse([z], true), model.inverse([z], false), 1e-5);
  });

  for (const reversed of [false, true]) {
    it(`one block's log-determinant equals the brute-force Jacobian's (${reversed ? 'reversed' : 'identity'} order)`, () => {
      const block = nudgedBlock(reversed);
      const x = tf.reshape(randomInput([1, 4, 4, 1], 5, 0.5), [1, 4, 4]) as tf.Tensor3D;
      const reference = bruteForceLogDet((input) => block.forward(tf.reshape(input, [1, 4, 4]) as tf.Tensor3D).z, tf.reshape(x, [1, 4, 4, 1]) as tf.Tensor4D);
      expect(Math.abs(reference)).toBeGreaterThan(0.1);
      expectClose(block.forward(x).logdet, [reference], 1e-4, 1e-4);
    });

    it(`causal mask: changing patch j moves no earlier patch's z and does move later ones (${reversed ? 'reversed' : 'identity'} order)`, () => {
      const block = nudgedBlock(reversed);
      const x = randomInput([1, 4, 4, 1], 7, 0.5).reshape([1, 4, 4]) as tf.Tensor3D;
      const base = block.forward(x).z.arraySync()[0];
      for (let j = 0; j < 4; j++) {
        const changed = x.arraySync();
        changed[0][j] = changed[0][j].map((v) => v + 0.7);
        const moved = block.forward(tf.tensor3d(changed)).z.arraySync()[0];
        // In the block's own order: reversed, "earlier" means a higher model index.
        const order = reversed ? [3, 2, 1, 0] : [0, 1, 2, 3];
        const position = order.indexOf(j);
        order.forEach((patch, i) => {
          const diff = Math.max(...moved[patch].map((v, k) => Math.abs(v - base[patch][k])));
          if (i < position) expect(diff, `patch ${patch} after changing ${j}`).toBe(0);
          else expect(diff, `patch ${patch} after changing ${j}`).toBeGreaterThan(1e-3);
        });
      }
    });
  }

  it("the whole model's log-determinant equals the brute-force Jacobian's, and log p = log N(z) + log-det", () => {
    const model = trainedLike();
    const x = randomInput([1, 4, 4, 1], 5, 0.4);
    const { zs, logdet, logpz } = model.forward(x);
    const reference = bruteForceLogDet((input) => model.forward(input).zs[0], x);
    expect(Math.abs(reference)).toBeGreaterThan(0.1);
    expectClose(logdet, [reference], 1e-3, 1e-4);
    const z = Array.from(zs[0].dataSync());
    const logNormal = z.reduce((sum, v) => sum - 0.5 * (v * v + Math.log(2 * Math.PI)), 0);
    expectClose(logpz, [logNormal], 1e-4, 1e-5);
    expectClose(model.logProb(x), [logNormal + reference], 1e-3, 1e-4);
  });

  it('leaves no tensor behind: encode, cached and uncached decode, sampling with denoising, a gradient', () => {
    const model = trainedLike({ ...TINY, noise: 0.1 });
    const x = randomInput([2, 4, 4, 1], 8, 0.3);
    const before = tf.memory().numTensors;
    tf.dispose(model.encode(x));
    tf.dispose([model.inverse([x], true), model.inverse([x], false), model.sample(2, 0.7, new Rng(1))]);
    const { value, grads } = tf.variableGrads(() => tf.mean(model.logProb(x)) as tf.Scalar, [...model.params.variables.values()]);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('with noise augmentation, a sample is the decoded noise plus sigma^2 times the score', () => {
    const sigma = 0.2;
    const model = trainedLike({ ...TINY, noise: sigma });
    const plain = trainedLike(TINY);
    const noise = [new Rng(3).fillNormal(new Float32Array(2 * 16), 0.8)];
    const decoded = plain.sampleFromNoise(noise, 2);
    const score = tf.grad((x) => tf.sum(plain.logProb(x as tf.Tensor4D)))(decoded);
    expect(tf.max(tf.abs(score)).dataSync()[0]).toBeGreaterThan(0.1);
    expectClose(model.sampleFromNoise(noise, 2), tf.add(decoded, tf.mul(score, sigma * sigma)), 1e-5);
  });
});
