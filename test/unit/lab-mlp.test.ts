// The Lab's network: its forward-mode tangent equals the Jacobian tfjs's reverse mode gives, for
// every activation, with and without MADE-style masks.
import { describe, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { ParamStore } from '../../main/engine/flows/params.ts';
import { Rng } from '../../main/engine/random.ts';
import { Mlp, type Activation } from '../../main/engine/lab/mlp.ts';
import { expectClose } from '../helpers/expect-close.ts';

const ACTIVATIONS: Activation[] = ['tanh', 'relu', 'softplus', 'elu', 'lipswish'];

/** J·v row by row through reverse mode: one gradient per output coordinate. */
function reverseModeJv(mlp: Mlp, x: tf.Tensor2D, v: tf.Tensor2D): tf.Tensor2D {
  const out = mlp.sizes[mlp.sizes.length - 1];
  const cols = [];
  for (let o = 0; o < out; o++) {
    const g = tf.grad((input: tf.Tensor) => tf.sum(tf.slice(mlp.apply(input as tf.Tensor2D), [0, o], [-1, 1])))(x);
    cols.push(tf.sum(tf.mul(g, v), 1, true));
  }
  return tf.concat(cols, 1) as tf.Tensor2D;
}

describe('Lab Mlp', () => {
  for (const activation of ACTIVATIONS) {
    it(`jvp matches reverse-mode gradients (${activation})`, () => {
      const rng = new Rng(3);
      const store = new ParamStore();
      const mlp = new Mlp(store.scope('net'), [3, 7, 5, 2], activation, rng);
      const x = tf.tensor2d(rng.fillNormal(new Float32Array(4 * 3)), [4, 3]);
      const v = tf.tensor2d(rng.fillNormal(new Float32Array(4 * 3)), [4, 3]);
      const { y, jv } = mlp.jvp(x, v);
      expectClose(y, mlp.apply(x), 1e-6);
      expectClose(jv, reverseModeJv(mlp, x, v), 1e-5);
      store.dispose();
    });
  }

  it('masks cut connections: an output masked off from an input has zero tangent from it', () => {
    const rng = new Rng(1);
    const store = new ParamStore();
    // Output 0 sees nothing of input 1; output 1 sees both.
    const masks = [tf.tensor2d([[1, 1], [0, 1]]), tf.tensor2d([[1, 0], [0, 1]])];
    const mlp = new Mlp(store.scope('made'), [2, 2, 2], 'tanh', rng, { masks });
    const x = tf.tensor2d([[0.3, -0.7]]);
    const { jv } = mlp.jvp(x, tf.tensor2d([[0, 1]]));
    expectClose(tf.slice(jv, [0, 0], [1, 1]), [0], 0);
    expectClose(jv, reverseModeJv(mlp, x, tf.tensor2d([[0, 1]])), 1e-6);
    store.dispose();
  });

  it('zeroLast starts the output at the last bias (zero)', () => {
    const store = new ParamStore();
    const mlp = new Mlp(store.scope('v'), [2, 4, 2], 'tanh', new Rng(0), { zeroLast: true });
    expectClose(mlp.apply(tf.tensor2d([[1, 2], [3, -4]])), [0, 0, 0, 0], 0);
    store.dispose();
  });
});
