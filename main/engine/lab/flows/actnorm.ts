// ActNorm on rows: the image ActNorm (flows/actnorm.ts, Glow 3.1) applied to each row as a 1x1
// image with D channels, so the per-coordinate scale and shift, their data initialisation on the
// first batch and their saved names are the same code: y = (x + bias) exp(logs).
import * as tf from '../../tf.ts';
import { ActNorm } from '../../flows/actnorm.ts';
import type { ParamScope } from '../../flows/params.ts';
import type { LayerOutput, VectorLayer } from '../vector-layer.ts';

export class VectorActNorm implements VectorLayer {
  readonly norm: ActNorm;

  constructor(scope: ParamScope, readonly dim: number) {
    this.norm = new ActNorm(scope, dim);
  }

  forward(x: tf.Tensor2D): LayerOutput {
    return tf.tidy(() => {
      const [n, d] = x.shape;
      const [y, logDet] = this.norm.forward(tf.reshape(x, [n, 1, 1, d]), tf.zeros([n]));
      return { out: tf.reshape(y, [n, d]), logDet } as LayerOutput;
    });
  }

  inverse(z: tf.Tensor2D): LayerOutput {
    return tf.tidy(() => {
      const [n, d] = z.shape;
      const x = this.norm.inverse(tf.reshape(z, [n, 1, 1, d]));
      return { out: tf.reshape(x, [n, d]), logDet: tf.mul(tf.ones([n]), tf.neg(tf.sum(this.norm.logs))) } as LayerOutput;
    });
  }
}
