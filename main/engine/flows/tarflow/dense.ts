// A fully connected layer on the last axis of a sequence [N, T, in]: x W + b with W [in, out],
// the layout of TarFlow's weight names (`.w`, `.b`), as one matMul over the N*T rows (ops'
// denseBias: on wasm its gradient avoids the slow transposed matMul; a default TarFlow's
// gradient at batch 8 on 16x16 digits took 0.35-0.4 s with it, 1.2 s with tfjs's own).
import * as tf from '../../tf.ts';
import { denseBias } from '../../ops/conv2d.ts';
import type { Rng } from '../../random.ts';
import { gaussianWeights } from '../init.ts';
import type { ParamScope } from '../params.ts';

/** TarFlow's linear weights start N(0, 0.02^2) (the paper's `init_weights`); biases start at zero. */
const WEIGHT_STD = 0.02;

export class Dense {
  readonly w: tf.Variable;
  readonly b: tf.Variable;

  /** `rng` null: weights start at zero (a block's output layer, so the block starts as the identity). */
  constructor(scope: ParamScope, inputs: number, readonly outputs: number, rng: Rng | null) {
    this.w = scope.variable('w', rng ? gaussianWeights([inputs, outputs], WEIGHT_STD, rng) : tf.zeros([inputs, outputs]));
    this.b = scope.variable('b', tf.zeros([outputs]));
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [n, t, d] = x.shape;
      const y = denseBias(tf.reshape(x, [n * t, d]) as tf.Tensor2D, this.w as tf.Tensor2D, this.b as tf.Tensor1D);
      return tf.reshape(y, [n, t, this.outputs]) as tf.Tensor3D;
    });
  }
}
