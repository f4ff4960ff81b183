// Restoration with a flow trained for it (issue 17, way 2): candidates x = decode(z * T; y) from the
// model's own p(x | y), then way 1's projection Π onto the observation, so observed pixels are kept exactly.
import type { RestoreSettings } from '../../../common/restore-fields.ts';
import { ConfigError } from '../errors.ts';
import { drawNoise, type FlowModel } from '../models/flow-model.ts';
import { throttledProgress, throwIfAborted } from '../progress.ts';
import { Rng } from '../random.ts';
import * as tf from '../tf.ts';
import { checkFactor } from './box-average.ts';
import type { Mask } from './mask.ts';
import { inpaintObservation, restoreTaskOf, upscaleObservation, upscaleTask, type RestoreTask } from './observation.ts';
import { checkLength, inpaintProjection, upscaleProjection, type PosteriorRun } from './posterior.ts';

/** What way 2 needs of a model: its shape and task, and conditional sampling (which a restoration-trained FlowModel has). */
export type ConditionalModel = Pick<FlowModel, 'config'> & Partial<Pick<FlowModel, 'noiseShapes' | 'sampleGiven'>>;

/** Candidates decoded per pass: a bound on memory, and how often progress and cancelling are seen. */
const CHUNK = 8;

/**
 * Refuses a restoration the model was not trained for, naming its restoreTask and what to do: a
 * conditional model has no unconditional log p(x) for way 1's Langevin to fall back on.
 */
export function checkTrainedFor(model: Pick<FlowModel, 'config'>, asked: Exclude<RestoreTask, 'none'>): void {
  const task = restoreTaskOf(model);
  if (task === asked) return;
  const how = asked === 'inpaint' ? 'inpainting' : `upscaling x${asked.slice('upscale-'.length)}`;
  const trained = task === 'inpaint' ? 'inpainting' : `upscaling x${task.slice('upscale-'.length)}`;
  throw new ConfigError('BAD_CONFIG', `this run was trained for ${trained} (restoreTask ${task}), so it cannot do ${how}: use a run trained with restoreTask ${asked}, or an unconditional run (restoreTask none), which restores by Langevin.`);
}

/** n candidates given the observation y [1, H, W, C'] (model space), each projected by `project`; chunked, with progress and cancelling. */
async function candidates(model: ConditionalModel, y: tf.Tensor4D, settings: RestoreSettings, project: (x: Float64Array) => void, run: PosteriorRun): Promise<Float32Array> {
  const { sampleGiven, noiseShapes } = model;
  if (!sampleGiven || !noiseShapes) throw new Error('a model trained for restoration samples with sampleGiven');
  const n = settings.samples;
  const { size, channels } = model.config;
  const per = size * size * channels;
  const rng = new Rng(settings.seed);
  const out = new Float64Array(n * per);
  const progress = throttledProgress(run.onProgress, n, 'candidates');
  for (let start = 0; start < n; start += CHUNK) {
    throwIfAborted(run.signal, 'Restoration');
    const count = Math.min(CHUNK, n - start);
    const noise = drawNoise({ noiseShapes }, count, settings.temperature, rng);
    const x = tf.tidy(() => sampleGiven.call(model, noise, count, tf.tile(y, [count, 1, 1, 1]) as tf.Tensor4D));
    try {
      out.set(await x.data(), start * per);
    } finally {
      x.dispose();
    }
    progress(start + count);
  }
  project(out);
  return Float32Array.from(out);
}

/** Way 2's upscaling: `settings.samples` candidates (model space) of the image whose box average is `small` (model space). */
export async function conditionalUpscaleSamples(model: ConditionalModel, small: Float32Array, factor: number, settings: RestoreSettings, run: PosteriorRun = {}): Promise<Float32Array> {
  const { size, channels } = model.config;
  checkFactor(size, factor);
  checkTrainedFor(model, upscaleTask(factor));
  const side = size / factor;
  checkLength('the small image', small.length, side, channels);
  const y = tf.tidy(() => upscaleObservation(tf.tensor4d(small, [1, side, side, channels]), factor));
  try {
    return await candidates(model, y, settings, upscaleProjection(small, { n: settings.samples, size, channels, factor }), run);
  } finally {
    y.dispose();
  }
}

/** Way 2's inpainting: `settings.samples` candidates (model space) of `image` with the hole of `mask` (0) filled and the rest kept exactly. */
export async function conditionalInpaintSamples(model: ConditionalModel, image: Float32Array, mask: Mask, settings: RestoreSettings, run: PosteriorRun = {}): Promise<Float32Array> {
  const { size, channels } = model.config;
  checkTrainedFor(model, 'inpaint');
  checkLength('the image', image.length, size, channels);
  checkLength('the mask', mask.length * channels, size, channels);
  const y = tf.tidy(() => inpaintObservation(tf.tensor4d(image, [1, size, size, channels]), tf.tensor4d(Float32Array.from(mask), [1, size, size, 1])));
  try {
    return await candidates(model, y, settings, inpaintProjection(image, mask, channels), run);
  } finally {
    y.dispose();
  }
}
