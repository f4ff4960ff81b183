// A coupling layer on rows: the coordinates split into two contiguous halves, one kept and one
// changed by an elementwise transform whose parameters an Mlp reads from the kept half; `flip`
// swaps the halves, so alternating layers change every coordinate. Any transform plugs in
// (affine for RealNVP, additive for NICE, the splines), for any D ≥ 2.
import * as tf from '../../tf.ts';
import type { ParamScope } from '../../flows/params.ts';
import type { Rng } from '../../random.ts';
import type { ElementwiseTransform } from '../elementwise.ts';
import { Mlp } from '../mlp.ts';
import type { LayerOutput, VectorLayer } from '../vector-layer.ts';

export interface CouplingOptions {
  dim: number;
  /** Change the first half (conditioned on the second) instead of the second. */
  flip: boolean;
  transform: ElementwiseTransform;
  /** Width of the conditioner's hidden layers. */
  hidden: number;
  /** Number of the conditioner's hidden layers. */
  netDepth: number;
}

export class Coupling implements VectorLayer {
  readonly net: Mlp;
  private readonly transform: ElementwiseTransform;
  private readonly flip: boolean;
  /** Columns [0, split) are the first half, [split, dim) the second. */
  private readonly split: number;

  constructor(scope: ParamScope, opts: CouplingOptions, rng: Rng) {
    if (opts.dim < 2) throw new Error(`a coupling needs at least 2 dimensions, got ${opts.dim}`);
    this.transform = opts.transform;
    this.flip = opts.flip;
    this.split = Math.floor(opts.dim / 2);
    const kept = opts.flip ? opts.dim - this.split : this.split;
    const changed = opts.dim - kept;
    const hidden: number[] = Array.from({ length: opts.netDepth }, () => opts.hidden);
    // The last layer starts at zero, so each coupling starts as the transform at zero parameters.
    this.net = new Mlp(scope.child('net'), [kept, ...hidden, changed * opts.transform.paramsPerDim], 'tanh', rng, { zeroLast: true });
  }

  forward(x: tf.Tensor2D): LayerOutput {
    return this.apply(x, 'forward');
  }

  inverse(z: tf.Tensor2D): LayerOutput {
    return this.apply(z, 'inverse');
  }

  private apply(input: tf.Tensor2D, direction: 'forward' | 'inverse'): LayerOutput {
    return tf.tidy(() => {
      const [n, d] = input.shape;
      const first = tf.slice(input, [0, 0], [n, this.split]);
      const second = tf.slice(input, [0, this.split], [n, d - this.split]);
      const [kept, changed] = this.flip ? [second, first] : [first, second];
      const params = tf.reshape(this.net.apply(kept), [n, changed.shape[1], this.transform.paramsPerDim]) as tf.Tensor3D;
      const { out, logDet } = this.transform[direction](changed, params);
      return { out: tf.concat(this.flip ? [out, kept] : [kept, out], 1), logDet } as LayerOutput;
    });
  }
}
