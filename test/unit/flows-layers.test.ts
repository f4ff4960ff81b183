// Every invertible layer: inverse(forward(x)) == x and its log-determinant equals the
// brute-force Jacobian's, on small random inputs with randomly perturbed parameters.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import '@tensorflow/tfjs-backend-cpu';
import { ActNorm } from '../../main/engine/flows/actnorm.ts';
import { Coupling, type CouplingOptions } from '../../main/engine/flows/coupling.ts';
import type { FlowLayer } from '../../main/engine/flows/flow-layer.ts';
import { InvConv1x1 } from '../../main/engine/flows/invconv.ts';
import { ParamStore } from '../../main/engine/flows/params.ts';
import { ChannelPermutation } from '../../main/engine/flows/permute.ts';
import { Squeeze } from '../../main/engine/flows/squeeze.ts';
import { Rng } from '../../main/engine/random.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { bruteForceLogDet } from '../helpers/jacobian.ts';
import { perturb, randomInput } from '../helpers/perturb.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Checks the inverse and the log-determinant; returns the brute-force log-determinant. */
function checkLayer(layer: FlowLayer, x: tf.Tensor4D): number {
  const zero = tf.zeros([1]) as tf.Tensor1D;
  const [y, logdet] = layer.forward(x, zero);
  expectClose(layer.inverse(y), x, 1e-4);
  const reference = bruteForceLogDet((input) => layer.forward(input, zero)[0], x);
  expectClose(logdet, [reference], 1e-3, 1e-4);
  return reference;
}

const shape: [number, number, number, number] = [1, 2, 3, 4]; // 24 dimensions
const AFFINE = { coupling: 'affine', bins: 8, tailBound: 3 } as const;

describe('flow layers', () => {
  it('ActNorm initialises to zero mean, unit variance and inverts', () => {
    const store = new ParamStore();
    const layer = new ActNorm(store.scope('a'), 4);
    const batch = tf.add(tf.mul(randomInput([8, 2, 3, 4], 3, 1), 3), 2) as tf.Tensor4D;
    layer.requestInit();
    const [y] = layer.forward(batch, tf.zeros([8]) as tf.Tensor1D);
    const { mean, variance } = tf.moments(y, [0, 1, 2]);
    expectClose(mean, [0, 0, 0, 0], 1e-4);
    expectClose(variance, [1, 1, 1, 1], 1e-3);
    // A second forward must not re-initialise.
    const before = layer.logs.dataSync().slice();
    layer.forward(randomInput([8, 2, 3, 4], 4, 5), tf.zeros([8]) as tf.Tensor1D);
    expectClose(layer.logs.dataSync(), before, 0);
    checkLayer(layer, randomInput(shape));
  });

  it('invertible 1x1 convolution (LU) starts as a rotation and has the right log-det', () => {
    const store = new ParamStore();
    const layer = new InvConv1x1(store.scope('w'), 4, new Rng(3));
    const w = layer.weightFloat64();
    // W W^T = I for a rotation.
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        let dot = 0;
        for (let k = 0; k < 4; k++) dot += w.data[i * 4 + k] * w.data[j * 4 + k];
        expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-6);
      }
    }
    perturb(store, 0.3);
    checkLayer(layer, randomInput(shape));
  });

  for (const kind of ['shuffle', 'reverse'] as const) {
    it(`channel permutation (${kind})`, () => {
      const layer = new ChannelPermutation(new ParamStore().scope('p'), 4, kind, new Rng(5));
      checkLayer(layer, randomInput(shape));
    });
  }

  it('squeeze is a permutation of the pixels', () => {
    const layer = new Squeeze();
    const x = randomInput([1, 4, 2, 3]);
    checkLayer(layer, x);
    expect(layer.forward(x, tf.zeros([1]) as tf.Tensor1D)[0].shape).toEqual([1, 2, 1, 12]);
  });

  const couplings: CouplingOptions[] = [];
  for (const coupling of ['affine', 'additive', 'spline'] as const) {
    for (const mask of ['channel', 'checkerboard'] as const) {
      for (const flip of [false, true]) for (const net of ['actnorm', 'bias'] as const) couplings.push({ map: { coupling, bins: 5, tailBound: 2 }, mask, flip, hidden: 8, net });
    }
  }
  for (const opts of couplings) {
    it(`coupling ${opts.map.coupling} ${opts.mask}${opts.flip ? ' flipped' : ''}, ${opts.net} network`, () => {
      const store = new ParamStore();
      const layer = new Coupling(store.scope('c'), [2, 3, 4], opts, new Rng(11));
      const x = randomInput(shape);
      // Zero-initialised last layer: the coupling starts as the identity (a spline's zero parameters are the identity too).
      const [y0, ld0] = layer.forward(x, tf.zeros([1]) as tf.Tensor1D);
      if (opts.map.coupling !== 'affine') {
        expectClose(y0, x, 1e-6);
        expectClose(ld0, [0], 1e-5);
      }
      // Half of the 24 values are scaled by sigmoid(0 + 2) at the start.
      else expectClose(ld0, [12 * Math.log(1 / (1 + Math.exp(-2)))], 1e-4);
      // Spline parameters of tens flatten bins to the 1e-3 floor, where float32 cannot invert to 1e-4 (see the Lab's splines).
      perturb(store, opts.map.coupling === 'spline' ? 0.1 : 0.3);
      const logDet = checkLayer(layer, x);
      if (opts.map.coupling === 'spline') expect(Math.abs(logDet)).toBeGreaterThan(0.05); // the perturbation made it non-trivial
    });
  }

  for (const mask of ['channel', 'checkerboard'] as const) {
    it(`a spline coupling (${mask}) is the identity beyond its tail bound, and changes what lies within`, () => {
      const store = new ParamStore();
      const layer = new Coupling(store.scope('c'), [2, 3, 4], { map: { coupling: 'spline', bins: 4, tailBound: 1 }, mask, flip: false, hidden: 8, net: 'bias' }, new Rng(5));
      perturb(store, 0.3);
      const zero = tf.zeros([1]) as tf.Tensor1D;
      // Every value at 1.2 to 3 in size: beyond the bound of 1, whatever the network says.
      const outside = tf.mul(tf.add(tf.abs(randomInput(shape, 8)), 1.2), tf.sign(randomInput(shape, 9))) as tf.Tensor4D;
      const [y, logdet] = layer.forward(outside, zero);
      expectClose(y, outside, 0);
      expectClose(logdet, [0], 0);
      expectClose(layer.inverse(outside), outside, 0);
      const inside = tf.mul(randomInput(shape, 10), 0.3) as tf.Tensor4D;
      expect(tf.max(tf.abs(tf.sub(layer.forward(inside, zero)[0], inside))).dataSync()[0]).toBeGreaterThan(0.01);
    });
  }

  it("a coupling network's ActNorm initialises from data: its first convolution's output gets zero mean, unit variance", () => {
    const store = new ParamStore();
    const layer = new Coupling(store.scope('c'), [4, 4, 4], { map: AFFINE, mask: 'channel', flip: false, hidden: 6, net: 'actnorm' }, new Rng(7));
    const batch = tf.add(tf.mul(randomInput([8, 4, 4, 4], 3, 1), 2), 1) as tf.Tensor4D;
    store.requestDataInit();
    layer.forward(batch, tf.zeros([8]) as tf.Tensor1D);
    const param = (name: string) => store.variables.get(`c.net.conv1.${name}`)!;
    const conv = tf.conv2d(tf.slice(batch, [0, 0, 0, 0], [-1, -1, -1, 2]) as tf.Tensor4D, param('weight') as tf.Tensor4D, 1, 'same');
    const normalised = tf.mul(tf.add(conv, param('actnorm.bias')), tf.exp(param('actnorm.logs')));
    const { mean, variance } = tf.moments(normalised, [0, 1, 2]);
    expectClose(mean, new Array(6).fill(0), 1e-4);
    expectClose(variance, new Array(6).fill(1), 1e-3);
    // The second network ActNorm is set too, and a later forward pass changes neither.
    const logs2 = store.variables.get('c.net.conv2.actnorm.logs')!.dataSync().slice();
    expect(logs2.some((v) => v !== 0)).toBe(true);
    layer.forward(randomInput([8, 4, 4, 4], 4, 5), tf.zeros([8]) as tf.Tensor1D);
    expectClose(store.variables.get('c.net.conv2.actnorm.logs')!.dataSync(), logs2, 0);
  });

  it('an odd channel count splits unevenly but still inverts', () => {
    const store = new ParamStore();
    const layer = new Coupling(store.scope('c'), [2, 2, 3], { map: AFFINE, mask: 'channel', flip: true, hidden: 4, net: 'actnorm' }, new Rng(2));
    perturb(store, 0.3);
    checkLayer(layer, randomInput([1, 2, 2, 3]));
  });
});
