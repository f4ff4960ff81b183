// Posterior samples of an image given its observed part, from any model with an exact
// log-likelihood and no retraining: projected Langevin, the observation kept exact, values in range.
import type { RestoreSettings } from '../../../common/restore-fields.ts';
import { ConfigError } from '../errors.ts';
import type { ProgressListener } from '../progress.ts';
import { Rng } from '../random.ts';
import { upscaleBicubic } from './bicubic.ts';
import { checkFactor, projectOntoBoxAverage, type BoxLayout } from './box-average.ts';
import { diffusionFill } from './fill.ts';
import { langevin } from './langevin.ts';
import { logProbGradient, type RestoreModel } from './log-prob-gradient.ts';
import { valueMask, type Mask } from './mask.ts';

/** Standard deviation of the noise added to each candidate's start (image units; about 5 grey levels), so candidates start apart. */
export const START_NOISE = 0.02;

/** Model space's data range (data/dequantize.ts): states stay inside it, where the model was trained. */
const LOW = -0.5;
const HIGH = 0.5;

/** Π for super-resolution: moves n images (in place) to the nearest ones in range whose box averages are `small`. */
export function upscaleProjection(small: ArrayLike<number>, layout: BoxLayout): (x: Float64Array) => void {
  return (x) => projectOntoBoxAverage(x, small, layout, LOW, HIGH);
}

/** Π for inpainting: the observed values of `image` (where `mask` is 1) restored exactly, the hole's clipped to the range, in every image of x. */
export function inpaintProjection(image: ArrayLike<number>, mask: Mask, channels: number): (x: Float64Array) => void {
  const kept = valueMask(mask, channels);
  const per = kept.length;
  return (v) => {
    for (let i = 0; i < v.length; i++) v[i] = kept[i % per] ? image[i % per] : Math.min(HIGH, Math.max(LOW, v[i]));
  };
}

export interface PosteriorRun {
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** Flow matching's log-likelihood is an ODE with a stochastic trace whose gradient would need second derivatives. */
function checkRestorable(model: RestoreModel): void {
  if (model.config.kind === 'flow-matching') {
    throw new ConfigError('BAD_CONFIG', 'flow matching has no exact log-likelihood to sample the posterior with (its log p is an ODE estimate): restore with a Glow, RealNVP, NICE or TarFlow run.');
  }
}

export function checkLength(what: string, actual: number, side: number, channels: number): void {
  if (actual !== side * side * channels) throw new RangeError(`${what} must hold ${side} x ${side} x ${channels} values; got ${actual}.`);
}

/**
 * `settings.samples` candidates (back to back, model space) of the image whose box average over
 * factor x factor blocks is `small` (one image of size/factor, model space). Each starts at the
 * bicubic upscale plus noise, projected; every state lies in the data range with box averages `small`.
 */
export async function upscaleSamples(model: RestoreModel, small: Float32Array, factor: number, settings: RestoreSettings, run: PosteriorRun = {}): Promise<Float32Array> {
  checkRestorable(model);
  const { size, channels } = model.config;
  checkFactor(size, factor);
  checkLength('the small image', small.length, size / factor, channels);
  const n = settings.samples;
  const layout: BoxLayout = { n, size, channels, factor };
  const rng = new Rng(settings.seed);
  const start = upscaleBicubic(small, 1, size / factor, channels, factor);
  const x = Float64Array.from({ length: n * start.length }, (_, i) => start[i % start.length] + START_NOISE * rng.normal());
  const constrain = upscaleProjection(small, layout);
  constrain(x);
  await langevin(x, n, logProbGradient(model), constrain, { ...settings, rng, ...run });
  return Float32Array.from(x);
}

/**
 * `settings.samples` candidates (back to back, model space) of `image` (one image, model space)
 * with the pixels where `mask` is 0 sampled (in the data range) and the others kept exactly. Each
 * starts at the diffusion fill plus noise in the hole.
 */
export async function inpaintSamples(model: RestoreModel, image: Float32Array, mask: Mask, settings: RestoreSettings, run: PosteriorRun = {}): Promise<Float32Array> {
  checkRestorable(model);
  const { size, channels } = model.config;
  checkLength('the image', image.length, size, channels);
  checkLength('the mask', mask.length * channels, size, channels);
  const n = settings.samples;
  const per = size * size * channels;
  const rng = new Rng(settings.seed);
  const start = diffusionFill(image, mask, size, channels);
  const x = Float64Array.from({ length: n * per }, (_, i) => start[i % per] + START_NOISE * rng.normal());
  const constrain = inpaintProjection(image, mask, channels);
  constrain(x);
  await langevin(x, n, logProbGradient(model), constrain, { ...settings, rng, ...run });
  return Float32Array.from(x);
}
