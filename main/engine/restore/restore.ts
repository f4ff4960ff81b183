// Super-resolution and inpainting on 8-bit pixels: the posterior candidates, their mean and the
// baselines they are measured against (bicubic; mean-colour and diffusion fills), as a person sees them.
// A model trained for the task samples its own p(x | y) (way 2); any other runs Langevin on log p(x) (way 1).
import type { RestoreSettings } from '../../../common/restore-fields.ts';
import { imagesOutOfRange, toPixels } from '../data/index.ts';
import { centred } from '../explore/explorer.ts';
import { upscaleBicubic } from './bicubic.ts';
import { diffusionFill, meanColourFill } from './fill.ts';
import { conditionalInpaintSamples, conditionalUpscaleSamples, type ConditionalModel } from './conditional-samples.ts';
import { restoreTaskOf } from './observation.ts';
import type { RestoreModel } from './log-prob-gradient.ts';
import type { Mask } from './mask.ts';
import { inpaintSamples, upscaleSamples, type PosteriorRun } from './posterior.ts';

export interface Restorer {
  /** Any model with an exact log p(x) (way 1); one trained for restoration (restoreTask) also samples p(x | y) (way 2). */
  model: RestoreModel & Partial<ConditionalModel>;
  /** Bits per channel the model was trained on: pixels in and out sit at the centres of its bins. */
  nBits: number;
}

/** How the candidates were drawn: Langevin on an unconditional model's log p(x) (way 1), or a restoration-trained model's p(x | y) (way 2). */
export type RestoreMethod = 'langevin' | 'conditional';

/** The method `model` restores with: conditional sampling when it was trained for a restoration task. */
export function restoreMethodOf(model: Restorer['model']): RestoreMethod {
  return restoreTaskOf(model) === 'none' ? 'langevin' : 'conditional';
}

export interface Restoration {
  method: RestoreMethod;
  /** `count` candidates of the model's shape, back to back (NHWC uint8). */
  candidates: Uint8Array;
  count: number;
  /** The candidates' mean, taken before rounding to pixels. */
  mean: Uint8Array;
  /** What the candidates are measured against, by name. */
  baselines: Record<string, Uint8Array>;
  /** Candidates with a value outside the image range, clipped in `candidates`. */
  outOfRange: number;
}

function meanOf(samples: Float32Array, count: number): Float64Array {
  const per = samples.length / count;
  const mean = new Float64Array(per);
  for (let i = 0; i < samples.length; i++) mean[i % per] += samples[i] / count;
  return mean;
}

function restoration(r: Restorer, samples: Float32Array, count: number, baselines: Record<string, ArrayLike<number>>): Restoration {
  return {
    method: restoreMethodOf(r.model),
    candidates: toPixels(samples, r.nBits),
    count,
    mean: toPixels(meanOf(samples, count), r.nBits),
    baselines: Object.fromEntries(Object.entries(baselines).map(([name, x]) => [name, toPixels(x, r.nBits)])),
    outOfRange: imagesOutOfRange(samples, count),
  };
}

/** Candidates of the full-size image whose factor x factor box average is `small` (pixels of size/factor). */
export async function upscale(r: Restorer, small: Uint8Array, factor: number, settings: RestoreSettings, run?: PosteriorRun): Promise<Restoration> {
  const { size, channels } = r.model.config;
  const y = centred(small, r.nBits);
  const samples =
    restoreMethodOf(r.model) === 'conditional' ? await conditionalUpscaleSamples(r.model, y, factor, settings, run) : await upscaleSamples(r.model, y, factor, settings, run);
  return restoration(r, samples, settings.samples, { bicubic: upscaleBicubic(y, 1, size / factor, channels, factor) });
}

/** Candidates of `pixels` with the hole of `mask` (0 = fill) filled in. */
export async function inpaint(r: Restorer, pixels: Uint8Array, mask: Mask, settings: RestoreSettings, run?: PosteriorRun): Promise<Restoration> {
  const { size, channels } = r.model.config;
  const x = centred(pixels, r.nBits);
  const samples =
    restoreMethodOf(r.model) === 'conditional' ? await conditionalInpaintSamples(r.model, x, mask, settings, run) : await inpaintSamples(r.model, x, mask, settings, run);
  return restoration(r, samples, settings.samples, { 'mean colour': meanColourFill(x, mask, size, channels), diffusion: diffusionFill(x, mask, size, channels) });
}
