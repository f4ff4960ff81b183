// The velocity field v(x, t) of continuous flows: the Lab's Mlp over the point and a few features
// of time, with its Jacobian-vector product in x alone (the time features carry no tangent).
import * as tf from '../../tf.ts';
import type { ParamScope } from '../../flows/params.ts';
import type { Rng } from '../../random.ts';
import { Mlp } from '../mlp.ts';

export interface VelocityField {
  /** v(x, t) for rows x [n, D] at times t [n, 1]. */
  apply(x: tf.Tensor2D, t: tf.Tensor2D): tf.Tensor2D;
  /** v(x, t) and J·v for each row in one pass, J = ∂v/∂x at (x, t) and v that row of `tangent`. */
  jvp(x: tf.Tensor2D, t: tf.Tensor2D, tangent: tf.Tensor2D): { y: tf.Tensor2D; jv: tf.Tensor2D };
}

/** t, sin πt and cos πt: smooth in t, and distinct at t = 0 and t = 1. */
const TIME_FEATURES = 3;

/** A column of n copies of time t, the form VelocityField takes. */
export function timeColumn(n: number, t: number): tf.Tensor2D {
  return tf.fill([n, 1], t) as tf.Tensor2D;
}

export class MlpVelocity implements VelocityField {
  private readonly net: Mlp;

  /** `hidden` units in each of `depth` hidden layers, tanh; the last layer starts at zero, so the flow starts as the identity. */
  constructor(scope: ParamScope, readonly dim: number, hidden: number, depth: number, rng: Rng) {
    const sizes = [dim + TIME_FEATURES, ...Array<number>(depth).fill(hidden), dim];
    this.net = new Mlp(scope, sizes, 'tanh', rng, { zeroLast: true });
  }

  apply(x: tf.Tensor2D, t: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.net.apply(withTime(x, t)));
  }

  jvp(x: tf.Tensor2D, t: tf.Tensor2D, tangent: tf.Tensor2D): { y: tf.Tensor2D; jv: tf.Tensor2D } {
    return tf.tidy(() => this.net.jvp(withTime(x, t), tf.concat([tangent, tf.zeros([x.shape[0], TIME_FEATURES])], 1)));
  }
}

function withTime(x: tf.Tensor2D, t: tf.Tensor2D): tf.Tensor2D {
  return tf.concat([x, t, tf.sin(tf.mul(Math.PI, t)), tf.cos(tf.mul(Math.PI, t))], 1) as tf.Tensor2D;
}
