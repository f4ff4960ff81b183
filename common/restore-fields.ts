// Every setting of restoration (super-resolution and inpainting by posterior sampling), declared
// once with its default, bounds and help: `flowdesk upscale` / `inpaint`, the engine and the bench read them here.
import type { Field, SettingValue } from './settings/field.ts';

/** Box-average downsampling factors `flowdesk upscale` undoes. */
export const UPSCALE_FACTORS = [2, 4] as const;
export type UpscaleFactor = (typeof UPSCALE_FACTORS)[number];

export const restoreFields = {
  samples: {
    type: 'int', min: 1, max: 64, default: 4, view: 'main',
    label: 'Candidates', help: 'posterior samples drawn per image (their mean is shown beside them)',
  },
  steps: {
    type: 'int', min: 1, max: 10_000, default: 300, view: 'main',
    label: 'Langevin steps', help: 'the step budget: Langevin steps per candidate (each a forward and backward pass of the model)',
  },
  stepSize: {
    type: 'number', min: 1e-9, max: 1e-2, default: 1e-4, view: 'advanced',
    label: 'Step size', help: 'the first Langevin step size ε (x += ε ∇log p + √(2εT) noise, in image units where pixels span [-0.5, 0.5])',
  },
  finalStepSize: {
    type: 'number', min: 1e-9, max: 1e-2, default: 1e-6, view: 'advanced',
    label: 'Final step size', help: 'the last step size: ε shrinks geometrically from the step size to this over the steps (equal values keep it constant)',
  },
  temperature: {
    type: 'number', min: 0, max: 2, default: 1, view: 'main',
    label: 'Temperature', help: 'samples follow p(x | observed)^(1/T): 1 is the model\'s own posterior, lower is sharper, 0 climbs to a mode',
  },
  seed: {
    type: 'int', min: 0, max: 2 ** 31 - 1, default: 0, view: 'advanced',
    label: 'Seed', help: 'seed of the starting noise and the Langevin noise',
  },
} as const satisfies Readonly<Record<string, Field>>;

export type RestoreSettings = { -readonly [K in keyof typeof restoreFields]: SettingValue<(typeof restoreFields)[K]> };

/** Every setting at its default. */
export function restoreDefaults(): RestoreSettings {
  return Object.fromEntries(Object.entries(restoreFields).map(([key, field]) => [key, field.default])) as RestoreSettings;
}
