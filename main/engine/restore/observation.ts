// The degraded observation y a restoration-trained flow is conditioned on (issue 17, way 2), made in
// one place for training, evaluation and restoration, in tfjs ops so the traced onnx step makes it too.
import * as tf from '../tf.ts';
import type { FlowModel, TrainingNoise } from '../models/flow-model.ts';
import type { ResolvedGlowConfig } from '../models/config.ts';

/** The restoration a flow was trained for (the `restoreTask` model setting). */
export type RestoreTask = ResolvedGlowConfig['restoreTask'];

/**
 * Quantisation step of an observed small image: restoration reads 8-bit pixels, so training adds
 * one uniform rounding error of this width to each box average (data/dequantize.ts' 2^-8 bins).
 */
const OBSERVED_STEP = 1 / 256;

/** The task `model` was trained for ('none' for a kind without the setting). */
export function restoreTaskOf(model: Pick<FlowModel, 'config'>): RestoreTask {
  return 'restoreTask' in model.config ? model.config.restoreTask : 'none';
}

/** The upscaling task of a factor (2 or 4; what a restoration at another factor would need). */
export function upscaleTask(factor: number): Exclude<RestoreTask, 'none' | 'inpaint'> {
  return factor === 4 ? 'upscale-4' : 'upscale-2';
}

/** The box-average factor of an upscaling task; null for inpainting and none. */
export function taskFactor(task: RestoreTask): number | null {
  return task === 'upscale-2' ? 2 : task === 'upscale-4' ? 4 : null;
}

/** Channels of y for images of `channels`: the same for upscaling, one more (the mask) for inpainting. */
export function observationChannels(task: RestoreTask, channels: number): number {
  return task === 'inpaint' ? channels + 1 : channels;
}

/**
 * The per-image random values that make y from an image besides its pixels, which the trainer draws
 * from (seed, step) and the evaluator from its scoring stream: inpainting's hole mask (H*W values,
 * 1 = observed, one rectangle per image: restore/mask.ts' randomRectangleMask), upscaling's
 * rounding of each small value to 8 bits (uniform).
 */
export function degradationNoise(task: RestoreTask, size: number, channels: number): TrainingNoise[] {
  if (task === 'none') return [];
  if (task === 'inpaint') return [{ values: size * size, distribution: 'hole-mask' }];
  const small = size / taskFactor(task)!;
  return [{ values: small * small * channels, distribution: 'uniform' }];
}

/** The mean of each factor x factor block per channel: [n, H, W, C] -> [n, H/f, W/f, C]. */
function boxAverage(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.mean(tf.reshape(x, [n, h / factor, factor, w / factor, factor, c]), [2, 4]) as tf.Tensor4D;
}

/** y of an upscaling task from the small image (model space) [n, H/f, W/f, C]: each value repeated over its block. */
export function upscaleObservation(small: tf.Tensor4D, factor: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = small.shape;
    const blocks = tf.tile(tf.reshape(small, [n, h, 1, w, 1, c]), [1, 1, factor, 1, factor, 1]);
    return tf.reshape(blocks, [n, h * factor, w * factor, c]) as tf.Tensor4D;
  });
}

/** y of inpainting from the image and its mask [n, H, W, 1] (1 = observed): the hole zeroed, then the mask as a channel. */
export function inpaintObservation(x: tf.Tensor4D, mask: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.concat([tf.mul(x, mask), mask], 3) as tf.Tensor4D);
}

/**
 * What a restoration model conditions on for images `x` and their degradation values (`values`:
 * [n, degradationNoise(...).values]): upscaling, the box average plus its rounding error lifted
 * back to full size; inpainting, x with the rectangle's hole. Without values (encoding, decoding,
 * sampling with nothing observed): the empty observation, zeros.
 */
export function degradedObservation(task: RestoreTask, x: tf.Tensor4D, values?: tf.Tensor2D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (!values) return tf.zeros([n, h, w, observationChannels(task, c)]);
  return tf.tidy(() => {
    if (task === 'inpaint') return inpaintObservation(x, tf.reshape(values, [n, h, w, 1]) as tf.Tensor4D);
    const factor = taskFactor(task)!;
    const rounding = tf.mul(tf.sub(tf.reshape(values, [n, h / factor, w / factor, c]), 0.5), OBSERVED_STEP);
    return upscaleObservation(tf.add(boxAverage(x, factor), rounding) as tf.Tensor4D, factor);
  });
}
