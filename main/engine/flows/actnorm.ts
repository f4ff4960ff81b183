// ActNorm: per-channel affine layer y = (x + bias) * exp(logs) whose bias and scale start from
// the first batch's statistics (Glow, section 3.1); log-det = H*W*sum(logs). A coupling
// network's hidden convolutions use its parameters and init too (coupling-net.ts).
import * as tf from '../tf.ts';
import type { FlowLayer } from './flow-layer.ts';
import type { ParamScope } from './params.ts';

export class ActNorm implements FlowLayer {
  readonly bias: tf.Variable;
  readonly logs: tf.Variable;
  private initPending = false;

  constructor(scope: ParamScope, channels: number) {
    this.bias = scope.variable('bias', tf.zeros([channels]));
    this.logs = scope.variable('logs', tf.zeros([channels]));
    scope.initialisedFromData(this);
  }

  /** The next forward pass sets bias and scale so its input gets zero mean, unit variance. */
  requestInit(): void {
    this.initPending = true;
  }

  forward(x: tf.Tensor4D, logdet: tf.Tensor1D): [tf.Tensor4D, tf.Tensor1D] {
    this.initialiseIfPending(() => x);
    const [, h, w] = x.shape;
    const y = tf.mul(tf.add(x, this.bias), tf.exp(this.logs)) as tf.Tensor4D;
    return [y, tf.add(logdet, tf.mul(tf.sum(this.logs), h * w)) as tf.Tensor1D];
  }

  /** When an init is pending, sets bias and scale from the input `x()` returns (computed only then). */
  initialiseIfPending(x: () => tf.Tensor4D): void {
    if (!this.initPending) return;
    this.initPending = false;
    tf.tidy(() => {
      const { mean, variance } = tf.moments(x(), [0, 1, 2]);
      this.bias.assign(tf.neg(mean));
      this.logs.assign(tf.neg(tf.log(tf.add(tf.sqrt(variance), 1e-6))));
    });
  }

  inverse(y: tf.Tensor4D): tf.Tensor4D {
    return tf.sub(tf.mul(y, tf.exp(tf.neg(this.logs))), this.bias) as tf.Tensor4D;
  }
}
