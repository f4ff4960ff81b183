// Autoregressive layer on a MADE conditioner with any elementwise transform (affine for MAF and
// IAF, splines): one class, two directions. MAF: density in one pass, sampling in D; IAF the reverse.
import * as tf from '../tf.ts';
import type { ParamScope } from '../flows/params.ts';
import type { Rng } from '../random.ts';
import type { ElementwiseTransform } from './elementwise.ts';
import { madeMasks } from './made.ts';
import { Mlp } from './mlp.ts';
import type { LayerContext, LayerOutput, VectorLayer } from './vector-layer.ts';

/**
 * 'maf': forward (data to base) is the one-pass map u ↦ τ(u; MADE(u)). 'iaf': that same map runs
 * base to data, so a MAF and an IAF layer with one MADE's weights are exact inverses.
 */
export type AutoregressiveDirection = 'maf' | 'iaf';

export interface AutoregressiveOptions {
  readonly transform: ElementwiseTransform;
  readonly direction: AutoregressiveDirection;
  /** Input degrees 1..D (made.ts orderDegrees), saved as the buffer `degrees`. */
  readonly degrees: Int32Array;
  /** Width of each hidden layer of the MADE. */
  readonly hidden: number;
  /** Hidden layers of the MADE. */
  readonly netDepth: number;
}

export class AutoregressiveLayer implements VectorLayer {
  readonly dim: number;
  readonly made: Mlp;
  private readonly transform: ElementwiseTransform;
  private readonly direction: AutoregressiveDirection;

  constructor(scope: ParamScope, opts: AutoregressiveOptions, rng: Rng) {
    this.dim = opts.degrees.length;
    this.transform = opts.transform;
    this.direction = opts.direction;
    scope.buffer('degrees', tf.tensor1d(opts.degrees, 'int32'));
    const hidden = Array<number>(opts.netDepth).fill(opts.hidden);
    // Kept out of any caller's tidy: the Mlp reads them on every pass until the store is disposed.
    const masks = madeMasks(opts.degrees, hidden, opts.transform.paramsPerDim).map((m) => tf.keep(m));
    scope.onDispose(() => masks.forEach((m) => m.dispose()));
    // The last layer starts at zero: each layer starts as the transform at zero parameters (the identity for splines).
    this.made = new Mlp(scope.child('made'), [this.dim, ...hidden, this.dim * opts.transform.paramsPerDim], 'tanh', rng, { masks, zeroLast: true });
  }

  forward(x: tf.Tensor2D, _ctx: LayerContext): LayerOutput {
    return this.direction === 'maf' ? this.onePass(x) : this.passPerDimension(x);
  }

  inverse(z: tf.Tensor2D, _ctx: LayerContext): LayerOutput {
    return this.direction === 'maf' ? this.passPerDimension(z) : this.onePass(z);
  }

  /** The transform's parameters [n, D, paramsPerDim] given the conditioning points u. */
  params(u: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => tf.reshape(this.made.apply(u), [u.shape[0], this.dim, this.transform.paramsPerDim]));
  }

  /** v = τ(u; MADE(u)): every coordinate at once. */
  private onePass(u: tf.Tensor2D): LayerOutput {
    return tf.tidy(() => this.transform.forward(u, this.params(u)));
  }

  /**
   * u with τ(u; MADE(u)) = v, one coordinate per MADE pass: after pass k the first k in the
   * order are exact, and the D-th pass's parameters, from D-1 exact coordinates, are the final
   * ones, so its log|det| is exact too. D passes is the cost this direction pays.
   */
  private passPerDimension(v: tf.Tensor2D): LayerOutput {
    return tf.tidy(() => {
      let result: LayerOutput = { out: tf.zerosLike(v), logDet: tf.zeros([v.shape[0]]) };
      for (let pass = 0; pass < this.dim; pass++) result = this.transform.inverse(v, this.params(result.out));
      return result;
    });
  }
}
