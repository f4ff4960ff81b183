// The named model shapes the app and the CLI both offer, and the default settings they start
// from. small, medium and large are sized for a laptop CPU; ten-minutes is each kind's best shape
// for 32x32 colour images in 10 minutes on two CPU cores, as measured; glow-paper is the Glow paper's shape.
import { appliesTo, defaultOf, type ModelKind } from './field.ts';
import { modelFields, type ResolvedModelSettings } from './model-fields.ts';
import { trainFields, type TrainSettings } from './train-fields.ts';

export const PRESET_NAMES = ['small', 'ten-minutes', 'ten-minutes-spline', 'medium', 'large', 'glow-paper'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];
export const DEFAULT_PRESET: PresetName = 'small';

export const presetHelp: Readonly<Record<PresetName, string>> = {
  small: 'trains in minutes on a laptop CPU',
  'ten-minutes': 'the best of the shapes measured for 32x32 colour images in 10 minutes on two CPU cores (docs/performance.md)',
  'ten-minutes-spline': 'as ten-minutes, with spline couplings: a narrower network, since a spline coupling outputs 3 x bins + 1 values per value (Glow only)',
  medium: 'an hour or so on a laptop CPU; clearly better samples',
  large: 'hours on a laptop CPU; for a GPU or a long run',
  'glow-paper': "the Glow paper's shape for 32x32 images (Glow only; needs a GPU)",
};

type Shape = Partial<Record<'levels' | 'depth' | 'hidden' | 'mlpLayers' | 'patch' | 'attnLayers' | 'headDim' | 'bins' | 'tailBound', number>> & { coupling?: 'spline' };

/**
 * Each preset's shape, over the fields' defaults; "small" is the defaults themselves. ten-minutes:
 * test bits/dim on the CIFAR-10 subset after 10 minutes (`npm run bench -- --equal-minutes`): Glow
 * 3.291 (one shape tried), with spline couplings 3.459 (h128, 8 bins: 3.644), RealNVP 3.921
 * (D2: 4.012), TarFlow 3.739, flow matching 4.123.
 */
const shapes: Readonly<Record<ModelKind, Partial<Record<PresetName, Shape>>>> = {
  glow: {
    small: {},
    'ten-minutes': { levels: 3, depth: 4, hidden: 128 },
    'ten-minutes-spline': { levels: 3, depth: 4, hidden: 48, coupling: 'spline', bins: 4, tailBound: 3 },
    medium: { levels: 3, depth: 8, hidden: 128 },
    large: { levels: 3, depth: 16, hidden: 256 },
    'glow-paper': { levels: 3, depth: 32, hidden: 512 },
  },
  realnvp: {
    small: {},
    'ten-minutes': { levels: 3, depth: 4, hidden: 128 },
    medium: { levels: 3, depth: 3, hidden: 128 },
    large: { levels: 3, depth: 4, hidden: 256 },
  },
  // large is the NICE paper's MNIST shape: 4 couplings of 5 hidden layers of 1000 units.
  nice: {
    small: {},
    medium: { depth: 4, hidden: 512, mlpLayers: 3 },
    large: { depth: 4, hidden: 1000, mlpLayers: 5 },
  },
  // small is TarFlow's defaults (patch 4, 4 blocks, width 128, one layer each). Parameters at
  // 32x32x3: 0.90M, 1.80M and 6.75M, beside Glow's L3 K4 h128 0.81M, medium 1.62M and large 7.95M.
  tarflow: {
    small: {},
    'ten-minutes': {},
    medium: { depth: 8 },
    large: { depth: 8, hidden: 256 },
  },
  'flow-matching': {
    small: {},
    'ten-minutes': { levels: 2, depth: 2, hidden: 32 },
    medium: { levels: 2, depth: 2, hidden: 64 },
    large: { levels: 3, depth: 2, hidden: 128 },
  },
};

/** The presets a model kind has, smallest first. */
export function presetsFor(kind: ModelKind): PresetName[] {
  return PRESET_NAMES.filter((name) => shapes[kind][name] !== undefined);
}

/** Every setting of `kind` at a preset's shape (defaults for what the preset leaves open). */
export function presetModel(kind: ModelKind, preset: PresetName, size: number, channels: 1 | 3): ResolvedModelSettings {
  const shape = shapes[kind][preset];
  if (!shape) throw new Error(`preset ${preset} is not offered for ${kind}; choose one of ${presetsFor(kind).join(', ')}.`);
  const settings: Record<string, unknown> = { kind };
  for (const [key, field] of Object.entries(modelFields)) {
    if (appliesTo(field, kind)) settings[key] = shape[key as keyof Shape] ?? defaultOf(field, kind);
  }
  return { ...settings, size, channels } as ResolvedModelSettings;
}

/** Every training setting at its default. */
export function defaultTrainSettings(): TrainSettings {
  return Object.fromEntries(Object.entries(trainFields).map(([key, field]) => [key, defaultOf(field)])) as TrainSettings;
}
