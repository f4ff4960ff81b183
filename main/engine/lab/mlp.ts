// A small fully connected network on rows, the Lab's one network: conditioners (with MADE masks),
// residual branches and velocity fields. `jvp` carries a tangent forward with the activations, so
// Jacobian-vector products (traces, power series) need only first-order gradients from tfjs.
import * as tf from '../tf.ts';
import { gaussianWeights } from '../flows/init.ts';
import type { ParamScope } from '../flows/params.ts';
import type { Rng } from '../random.ts';
import type { JacobianVectorProduct } from './trace.ts';

/** lipswish is Residual Flows' swish(x) / 1.1, 1-Lipschitz with a smooth derivative. */
export type Activation = 'tanh' | 'relu' | 'softplus' | 'elu' | 'lipswish';

export interface MlpOptions {
  /** Start the last layer at zero, so a coupling or velocity field begins as the identity / zero. */
  zeroLast?: boolean;
  /** One 0/1 mask per layer ([in, out], MADE's connectivity); absent: fully connected. */
  masks?: readonly tf.Tensor2D[];
}

export class Mlp {
  readonly weights: tf.Variable[] = [];
  readonly biases: tf.Variable[] = [];
  private readonly masks: readonly tf.Tensor2D[] | undefined;

  /** `sizes` = [in, hidden..., out]. */
  constructor(scope: ParamScope, readonly sizes: readonly number[], readonly activation: Activation, rng: Rng, opts: MlpOptions = {}) {
    if (sizes.length < 2) throw new Error('an Mlp needs at least input and output sizes');
    this.masks = opts.masks;
    for (let i = 0; i + 1 < sizes.length; i++) {
      const last = i + 2 === sizes.length;
      const w = last && opts.zeroLast ? tf.zeros([sizes[i], sizes[i + 1]]) : gaussianWeights([sizes[i], sizes[i + 1]], Math.sqrt(1 / sizes[i]), rng);
      this.weights.push(scope.variable(`w${i}`, w));
      this.biases.push(scope.variable(`b${i}`, tf.zeros([sizes[i + 1]])));
    }
  }

  /** The weight layer i actually uses (masked for MADE). */
  weight(i: number): tf.Tensor2D {
    const w = this.weights[i] as tf.Tensor2D;
    return this.masks ? tf.mul(w, this.masks[i]) : w;
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let h = x;
      for (let i = 0; i < this.weights.length; i++) {
        const pre = tf.add(tf.matMul(h, this.weight(i)), this.biases[i]) as tf.Tensor2D;
        h = i + 1 < this.weights.length ? activate(this.activation, pre) : pre;
      }
      return h;
    });
  }

  /** The output and J·v for each row, where J is the output's Jacobian with respect to the input row and v that row of `v`. */
  jvp(x: tf.Tensor2D, v: tf.Tensor2D): { y: tf.Tensor2D; jv: tf.Tensor2D } {
    return tf.tidy(() => {
      const { y, jvp } = this.linearise(x);
      return { y, jv: jvp(v) };
    });
  }

  /**
   * The output at `x` and the Jacobian there as a map v ↦ J·v, keeping the activations' slopes so
   * that k products (a power series, a full Jacobian) cost one forward pass and k chains of matrix
   * products. Call it inside tf.tidy: the slopes live as long as that scope.
   */
  linearise(x: tf.Tensor2D): { y: tf.Tensor2D; jvp: JacobianVectorProduct } {
    const weights = this.weights.map((_, i) => this.weight(i));
    const slopes: tf.Tensor2D[] = [];
    let h = x;
    for (let i = 0; i < weights.length; i++) {
      const pre = tf.add(tf.matMul(h, weights[i]), this.biases[i]) as tf.Tensor2D;
      if (i + 1 < weights.length) {
        slopes.push(activationSlope(this.activation, pre));
        h = activate(this.activation, pre);
      } else {
        h = pre;
      }
    }
    const jvp = (v: tf.Tensor2D): tf.Tensor2D =>
      tf.tidy(() => {
        let dh = v;
        for (let i = 0; i < weights.length; i++) {
          dh = tf.matMul(dh, weights[i]);
          if (i < slopes.length) dh = tf.mul(dh, slopes[i]);
        }
        return dh;
      });
    return { y: h, jvp };
  }
}

export function activate(a: Activation, x: tf.Tensor2D): tf.Tensor2D {
  switch (a) {
    case 'tanh': return tf.tanh(x);
    case 'relu': return tf.relu(x);
    case 'softplus': return tf.softplus(x);
    case 'elu': return tf.elu(x);
    case 'lipswish': return tf.div(tf.mul(x, tf.sigmoid(x)), 1.1) as tf.Tensor2D;
  }
}

/** The activation's derivative at x, elementwise. */
export function activationSlope(a: Activation, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    switch (a) {
      case 'tanh': return tf.sub(1, tf.square(tf.tanh(x)));
      case 'relu': return tf.cast(tf.greater(x, 0), 'float32');
      case 'softplus': return tf.sigmoid(x);
      case 'elu': return tf.where(tf.greater(x, 0), tf.onesLike(x), tf.exp(x));
      case 'lipswish': {
        const s = tf.sigmoid(x);
        return tf.div(tf.add(s, tf.mul(tf.mul(x, s), tf.sub(1, s))), 1.1);
      }
    }
  }) as tf.Tensor2D;
}
