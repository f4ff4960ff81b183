// "Change the class" of an image with a class-conditional model: its noise under its own class
// (each level's latent standardised by its prior, FlowModel.noiseOf) decoded under other classes,
// so what the prior does not explain (pose, style) stays and the class changes.
import * as tf from '../tf.ts';
import { toPixels } from '../data/index.ts';
import { oneHot } from '../data/one-hot.ts';
import { ConfigError } from '../errors.ts';
import { classCountOf, type FlowModel } from '../models/flow-model.ts';
import { centred, type Explorer } from './explorer.ts';

/** A conditional model's class names, or a clear error for a model without classes. */
export function classNamesOf(model: FlowModel): readonly string[] {
  const names = model.classLabels?.names ?? [];
  if (names.length === 0 || classCountOf(model) === 0) throw new ConfigError('BAD_CONFIG', `This ${model.config.kind} model has no classes: it was not trained on a folder of classes.`);
  return names;
}

/** The index of class `name` of a conditional model, or a clear error listing its classes. */
export function classIndex(model: FlowModel, name: string): number {
  const names = classNamesOf(model);
  const index = names.indexOf(name);
  if (index < 0) throw new ConfigError('BAD_CONFIG', `No class "${name}" in this model; its classes are ${names.join(', ')}.`);
  return index;
}

/**
 * The image `pixels` (one, NHWC) encoded under class `from` and decoded under each class of `to`,
 * in that order, as NHWC pixels; decoding under `from` itself gives the image back. Runs on
 * the calling thread (tfjs): one image and a few decodes.
 */
export function changeClass(e: Explorer, pixels: Uint8Array, from: number, to: readonly number[], temperature = 1): Uint8Array {
  const { model } = e;
  const classes = classNamesOf(model).length;
  if (!model.noiseOf) throw new ConfigError('BAD_CONFIG', `A ${model.config.kind} model cannot change an image's class.`);
  const { size, channels } = model.config;
  const images = tf.tidy(() => {
    const x = tf.tensor4d(centred(pixels, e.nBits), [1, size, size, channels]);
    const noise = model.noiseOf!(x, tf.tensor2d(oneHot([from], classes), [1, classes]));
    // The same noise for every target class, scaled by the temperature.
    const repeated = noise.map((z) => tf.mul(tf.tile(z, [to.length, 1, 1, 1]), temperature) as tf.Tensor4D);
    return model.sampleFromNoise(repeated, to.length, tf.tensor2d(oneHot(to, classes), [to.length, classes]));
  });
  const values = images.dataSync() as Float32Array;
  images.dispose();
  return toPixels(values, e.nBits);
}
