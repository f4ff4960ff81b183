// NICE (Dinh et al. 2015): additive coupling layers on the flattened pixels, alternating which
// interleaved half conditions the other through an MLP, then a learned diagonal scaling.
import * as tf from '../tf.ts';
import { gaussianLogDensity } from '../flows/gaussian.ts';
import { heNormal } from '../flows/init.ts';
import type { ParamScope } from '../flows/params.ts';
import { ConfigError } from '../errors.ts';
import { Rng } from '../random.ts';
import type { ResolvedNiceConfig } from './config.ts';
import type { FlowOutput } from './flow-model.ts';
import { ImageLatentModel } from './image-latent-model.ts';

/** y_b = x_b + m(x_a) with m an MLP whose last layer starts at zero (identity start). */
class AdditiveDenseCoupling {
  private readonly weights: tf.Variable[] = [];
  private readonly biases: tf.Variable[] = [];

  constructor(scope: ParamScope, half: number, hidden: number, layers: number, private readonly flip: boolean, rng: Rng) {
    let width = half;
    for (let l = 0; l < layers; l++) {
      this.weights.push(scope.variable(`mlp.${l}.weight`, heNormal([width, hidden], width, rng)));
      this.biases.push(scope.variable(`mlp.${l}.bias`, tf.zeros([hidden])));
      width = hidden;
    }
    this.weights.push(scope.variable(`mlp.${layers}.weight`, tf.zeros([width, half])));
    this.biases.push(scope.variable(`mlp.${layers}.bias`, tf.zeros([half])));
  }

  /** x: [N, D/2, 2], the two interleaved halves along the last axis. */
  apply(x: tf.Tensor3D, inverse: boolean): tf.Tensor3D {
    return tf.tidy(() => {
      const [n, half] = x.shape;
      const even = tf.reshape(tf.slice(x, [0, 0, 0], [n, half, 1]), [n, half]) as tf.Tensor2D;
      const odd = tf.reshape(tf.slice(x, [0, 0, 1], [n, half, 1]), [n, half]) as tf.Tensor2D;
      const [condition, target] = this.flip ? [odd, even] : [even, odd];
      let h: tf.Tensor2D = condition;
      const last = this.weights.length - 1;
      for (let l = 0; l <= last; l++) {
        h = tf.add(tf.matMul(h, this.weights[l] as tf.Tensor2D), this.biases[l]) as tf.Tensor2D;
        if (l < last) h = tf.relu(h);
      }
      const moved = inverse ? tf.sub(target, h) : tf.add(target, h);
      const [e, o] = this.flip ? [moved, odd] : [even, moved];
      return tf.stack([e, o], 2) as tf.Tensor3D;
    });
  }
}

export class Nice extends ImageLatentModel {
  private readonly couplings: AdditiveDenseCoupling[] = [];
  private readonly logScale: tf.Variable;
  private readonly dims: number;

  constructor(readonly config: ResolvedNiceConfig, seed: number) {
    super();
    const rng = new Rng(seed);
    this.dims = config.size * config.size * config.channels;
    if (this.dims % 2 !== 0) {
      throw new ConfigError('BAD_CONFIG', `NICE splits the ${this.dims} pixel values in two halves; use an even size.`);
    }
    for (let i = 0; i < config.depth; i++) {
      this.couplings.push(
        new AdditiveDenseCoupling(this.params.scope(`couplings.${i}`), this.dims / 2, config.hidden, config.mlpLayers, i % 2 === 1, rng),
      );
    }
    this.logScale = this.params.scope('scaling').variable('logs', tf.zeros([this.dims]));
  }

  forward(x: tf.Tensor4D): FlowOutput {
    return tf.tidy(() => {
      const [z] = this.encode(x);
      // Additive couplings preserve volume: only the final scaling has a log-determinant.
      const logdet = tf.mul(tf.ones([x.shape[0]]), tf.sum(this.logScale)) as tf.Tensor1D;
      return { zs: [z], logdet, logpz: gaussianLogDensity(z, null) };
    });
  }

  encode(x: tf.Tensor4D): tf.Tensor4D[] {
    return [
      tf.tidy(() => {
        const n = x.shape[0];
        let h = tf.reshape(x, [n, this.dims / 2, 2]) as tf.Tensor3D;
        for (const c of this.couplings) h = c.apply(h, false);
        const z = tf.mul(tf.reshape(h, [n, this.dims]), tf.exp(this.logScale));
        return tf.reshape(z, x.shape) as tf.Tensor4D;
      }),
    ];
  }

  decode(zs: tf.Tensor4D[]): tf.Tensor4D {
    const [z] = zs;
    return tf.tidy(() => {
      const n = z.shape[0];
      const unscaled = tf.mul(tf.reshape(z, [n, this.dims]), tf.exp(tf.neg(this.logScale)));
      let h = tf.reshape(unscaled, [n, this.dims / 2, 2]) as tf.Tensor3D;
      for (let i = this.couplings.length - 1; i >= 0; i--) h = this.couplings[i].apply(h, true);
      return tf.reshape(h, z.shape) as tf.Tensor4D;
    });
  }
}
