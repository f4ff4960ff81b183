// Class conditioning of a multiscale flow's top prior (openai/glow's `ycond`): zero-initialised
// linear maps of the one-hot class to a mean and log-std per channel, and of the top latent to logits.
import * as tf from '../tf.ts';
import type { GaussianParams } from './gaussian.ts';
import type { ParamScope } from './params.ts';
import { LOGSCALE_FACTOR } from './zero-conv.ts';

/**
 * Classes `c` are one-hot rows [n, K]; an all-zero row means "no class" and adds nothing, so the
 * embedding has no bias (openai/glow's `linear_zeros` has one; its base prior holds it here).
 * Both maps start at zero: an untrained conditional model is its unconditional one.
 */
export class ClassConditioning {
  private readonly embedding: tf.Variable;
  private readonly embeddingLogs: tf.Variable;
  private readonly classifier: tf.Variable;
  private readonly classifierBias: tf.Variable;
  private readonly classifierLogs: tf.Variable;

  constructor(
    scope: ParamScope,
    readonly classes: number,
    /** Channels of the top latent. */
    private readonly channels: number,
  ) {
    this.embedding = scope.variable('embedding.weight', tf.zeros([classes, 2 * channels]));
    this.embeddingLogs = scope.variable('embedding.logs', tf.zeros([2 * channels]));
    this.classifier = scope.variable('classifier.weight', tf.zeros([channels, classes]));
    this.classifierBias = scope.variable('classifier.bias', tf.zeros([classes]));
    this.classifierLogs = scope.variable('classifier.logs', tf.zeros([classes]));
  }

  /** The top prior given the classes: `base` (null: N(0, I)) with each row's class embedding added to its mean and log-std. */
  prior(base: GaussianParams | null, c: tf.Tensor2D): GaussianParams {
    const n = c.shape[0];
    const k = this.channels;
    const scale = tf.exp(tf.mul(this.embeddingLogs, LOGSCALE_FACTOR));
    const shift = tf.reshape(tf.mul(tf.matMul(c, this.embedding), scale), [n, 1, 1, 2 * k]);
    const mean = tf.slice(shift, [0, 0, 0, 0], [-1, -1, -1, k]);
    const logs = tf.slice(shift, [0, 0, 0, k], [-1, -1, -1, k]);
    return base ? { mean: tf.add(base.mean, mean), logs: tf.add(base.logs, logs) } : { mean, logs };
  }

  /** Class logits [n, K] from the top latent's mean over positions (openai/glow's classifier). */
  logits(top: tf.Tensor4D): tf.Tensor2D {
    const scale = tf.exp(tf.mul(this.classifierLogs, LOGSCALE_FACTOR));
    return tf.mul(tf.add(tf.matMul(tf.mean(top, [1, 2]) as tf.Tensor2D, this.classifier), this.classifierBias), scale) as tf.Tensor2D;
  }
}

/**
 * Cross-entropy of `logits` against the one-hot rows `c`, in bits, per image; 0 for an all-zero
 * row (no class to predict). Written without a gather so the onnx step traces it.
 */
export function classCrossEntropyBits(logits: tf.Tensor2D, c: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const known = tf.sum(c, 1);
    const nll = tf.sub(tf.mul(known, tf.logSumExp(logits, 1)), tf.sum(tf.mul(c, logits), 1));
    return tf.div(nll, Math.LN2) as tf.Tensor1D;
  });
}
