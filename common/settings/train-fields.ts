// Every training and optimizer setting, declared once: run.json stores them resolved, and the
// engine, the Api, the CLI and the Train view read their defaults, bounds and help from here.
import type { Field, SettingValue, SettingValues } from './field.ts';

/** Far more steps than any run here takes; a bound so a typo cannot ask for forever. */
const MAX_STEPS = 10_000_000;
/** Largest batch (and micro-batch): beyond it a laptop runs out of memory long before it gains speed. */
const MAX_BATCH = 1024;
/** The class of the images directly in the folder, with classes 'folders-unlabelled'. */
export const UNLABELLED_CLASS = 'unlabelled';

export const trainFields = {
  batch: {
    type: 'int', min: 1, max: MAX_BATCH, default: 32, unit: 'images', view: 'main',
    label: 'Batch', help: 'images per optimizer step',
  },
  steps: {
    type: 'int', min: 1, max: MAX_STEPS, default: 1000, unit: 'steps', view: 'main',
    label: 'Steps', help: 'optimizer steps in all (a resumed run continues to this count)',
  },
  minutes: {
    type: 'number', min: 0.01, max: 100_000, default: null, nullMeans: 'no time limit', unit: 'min', view: 'main',
    label: 'Time limit', help: 'wall-clock budget; whichever of steps and minutes comes first ends the run',
  },
  optimizer: {
    type: 'choice', options: ['adam', 'adamax'], default: 'adam', view: 'main', optionLabels: { adam: 'Adam', adamax: 'Adamax' },
    label: 'Optimizer', help: 'Adam, or Adamax (Adam with an infinity-norm second moment, as the Glow paper used)',
  },
  lr: {
    type: 'number', min: 1e-7, max: 1, default: 1e-3, view: 'main',
    label: 'Learning rate', help: 'peak learning rate, reached after the warmup',
  },
  warmup: {
    type: 'int', min: 0, max: MAX_STEPS, default: 200, unit: 'steps', view: 'main',
    label: 'Warmup', help: 'steps over which the learning rate rises linearly from lr/warmup to lr',
  },
  nBits: {
    type: 'int', min: 1, max: 8, default: 8, unit: 'bits', view: 'main',
    label: 'Bits per channel', help: 'bits per colour channel the images are reduced to before dequantization',
  },
  flip: {
    type: 'choice', options: ['auto', 'on', 'off'], default: 'auto', view: 'main',
    optionLabels: { auto: 'Auto', on: 'On', off: 'Off' },
    label: 'Horizontal flip', help: 'mirror each training image left-right with probability 1/2; auto flips colour images only (digits and letters are not mirror-symmetric)',
  },
  seed: {
    type: 'int', min: 0, max: 2 ** 31 - 1, default: 0, view: 'main',
    label: 'Seed', help: 'seed of the weights, batch order, dequantization noise and sample grids',
  },
  evalEvery: {
    type: 'int', min: 1, max: MAX_STEPS, default: 100, unit: 'steps', view: 'main',
    label: 'Evaluate every', help: 'steps between validation evaluations and sample grids',
  },
  checkpointEvery: {
    type: 'int', min: 1, max: MAX_STEPS, default: 100, unit: 'steps', view: 'main',
    label: 'Checkpoint every', help: 'steps between checkpoints',
  },
  emaDecay: {
    type: 'number', min: 0, max: 0.99999, default: 0.999, view: 'advanced',
    label: 'Weight averaging',
    help: 'decay of the moving average of the weights used for validation, samples, Explore and export (0 turns it off: the last weights are used)',
  },
  keepCheckpoints: {
    type: 'int', min: 1, max: 1000, default: 3, view: 'advanced',
    label: 'Checkpoints kept', help: 'newest checkpoints kept on disk',
  },
  clipNorm: {
    type: 'number', min: 0.01, max: 1e6, default: 50, view: 'advanced',
    label: 'Gradient clip', help: 'largest global gradient norm; larger gradients are scaled down to it',
  },
  beta1: {
    type: 'number', min: 0, max: 0.9999, default: 0.9, view: 'advanced',
    label: 'Beta 1', help: "decay of the optimizer's first-moment (mean) estimate",
  },
  beta2: {
    type: 'number', min: 0, max: 0.99999, default: 0.999, view: 'advanced',
    label: 'Beta 2', help: "decay of the optimizer's second-moment estimate",
  },
  epsilon: {
    type: 'number', min: 1e-12, max: 0.01, default: 1e-8, view: 'advanced',
    label: 'Epsilon', help: "added to the optimizer's denominator so it never divides by zero",
  },
  valImages: {
    type: 'int', min: 1, max: 1_000_000, default: 500, unit: 'images', view: 'advanced',
    label: 'Validation images', help: 'validation images used per evaluation (the first ones of the split)',
  },
  initImages: {
    type: 'int', min: 1, max: 100_000, default: 128, unit: 'images', view: 'advanced',
    label: 'Init images', help: "images used for ActNorm's data-dependent initialisation",
  },
  sampleCount: {
    type: 'int', min: 1, max: 256, default: 36, unit: 'images', view: 'advanced',
    label: 'Sample grid', help: 'images in each fixed-seed sample grid saved during training',
  },
  sampleTemperature: {
    type: 'number', min: 0, max: 2, default: 0.7, view: 'advanced',
    label: 'Sample temperature', help: 'temperature of the sample grids saved during training',
  },
  maxNonFinite: {
    type: 'int', min: 1, max: 100_000, default: 10, unit: 'steps', view: 'advanced',
    label: 'Non-finite steps', help: 'consecutive non-finite steps tolerated before the run rolls back to its last checkpoint',
  },
  maxRollbacks: {
    type: 'int', min: 0, max: 1000, default: 3, view: 'advanced',
    label: 'Rollbacks', help: 'rollbacks (each halving the learning rate) tried before training stops with an error',
  },
  microBatch: {
    type: 'int', min: 1, max: MAX_BATCH, default: null, nullMeans: 'auto', unit: 'images', view: 'advanced',
    label: 'Micro-batch', help: 'images per forward/backward pass, the passes of a step summing their gradients; auto takes what fits in memory',
  },
  threads: {
    type: 'int', min: 1, max: 64, default: null, nullMeans: 'auto', view: 'advanced',
    label: 'Threads', help: "threads a step's batch is split across on the wasm and cpu backends; auto takes up to 2 where the model is large enough to gain",
  },
  // Chosen in the Data view, beside size and colour: it changes what the import reads.
  classes: {
    type: 'choice', options: ['none', 'folders', 'folders-unlabelled'], default: 'none', view: 'data',
    optionLabels: { folders: 'from sub-folders', 'folders-unlabelled': `from sub-folders, root images as "${UNLABELLED_CLASS}"` },
    label: 'Classes',
    help: `none: the folder's images are one unlabelled set; folders: each immediate sub-folder is a class (deeper folders belong to it) and images directly in the folder are refused; folders-unlabelled: the same, with the images directly in the folder as a class named "${UNLABELLED_CLASS}"`,
  },
} as const satisfies Readonly<Record<string, Field>>;

export type TrainFields = typeof trainFields;

/** Whether training flips images of `channels` channels: 'auto' means colour images only. */
export function flipsImages(flip: SettingValue<TrainFields['flip']>, channels: number): boolean {
  return flip === 'on' || (flip === 'auto' && channels === 3);
}
/** How an import reads classes from the folder (the `classes` setting). */
export type ClassMode = SettingValue<TrainFields['classes']>;
/** Every training setting, flat, as the Api and the Train view carry them. */
export type TrainSettings = SettingValues<TrainFields>;
