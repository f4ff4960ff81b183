// A LabModel made of discrete layers over a standard normal base: log q(x) is the base density of
// forward(x) plus the layers' log-determinants; sampling runs the inverses in reverse order.
import * as tf from '../tf.ts';
import { ParamStore } from '../flows/params.ts';
import type { LabFlowName } from '../../../common/lab/lab-catalog.ts';
import type { LabSettings } from '../../../common/lab/lab-fields.ts';
import type { LabModel, LabSample } from './lab-model.ts';
import { normalLogProb, normalPoints } from './normal.ts';
import type { LayerContext, VectorLayer } from './vector-layer.ts';

export class LayerStack implements LabModel {
  constructor(
    readonly flow: LabFlowName,
    readonly dim: number,
    readonly settings: LabSettings,
    readonly params: ParamStore,
    readonly layers: readonly VectorLayer[],
  ) {}

  logProb(x: tf.Tensor2D, ctx: LayerContext): tf.Tensor1D {
    return tf.tidy(() => {
      let h = x;
      let logDet = tf.zeros([x.shape[0]]) as tf.Tensor1D;
      for (const layer of this.layers) {
        const { out, logDet: ld } = layer.forward(h, ctx);
        h = out;
        logDet = tf.add(logDet, ld);
      }
      return tf.add(normalLogProb(h), logDet);
    });
  }

  sample(n: number, ctx: LayerContext, base?: tf.Tensor2D): LabSample {
    return tf.tidy(() => {
      let h = base ?? normalPoints(n, this.dim, ctx.rng);
      let logProb = normalLogProb(h);
      for (let i = this.layers.length - 1; i >= 0; i--) {
        const { out, logDet } = this.layers[i].inverse(h, ctx);
        h = out;
        logProb = tf.sub(logProb, logDet);
      }
      return { x: h, logProb };
    });
  }

  dataLoss(x: tf.Tensor2D, ctx: LayerContext): tf.Scalar {
    return tf.tidy(() => tf.neg(tf.mean(this.logProb(x, ctx))) as tf.Scalar);
  }

  stages(points: tf.Tensor2D, direction: 'to-base' | 'to-data', ctx: LayerContext): tf.Tensor2D[] {
    const out = [tf.clone(points)];
    const order = direction === 'to-base' ? this.layers : [...this.layers].reverse();
    for (const layer of order) {
      const prev = out[out.length - 1];
      out.push(tf.tidy(() => (direction === 'to-base' ? layer.forward(prev, ctx) : layer.inverse(prev, ctx)).out));
    }
    return out;
  }

  constrain(): void {
    for (const layer of this.layers) layer.constrain?.();
  }

  dispose(): void {
    this.params.dispose();
  }
}
