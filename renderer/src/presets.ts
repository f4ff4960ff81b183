// Model presets the Train view offers: a family and a size, each filling every setting, which
// stay editable.
import type { ModelKind, ModelSettings, TrainSettings } from '../../preload/api.ts';

export type PresetSize = 'small' | 'medium' | 'large';

const shapes: Record<ModelKind, Record<PresetSize, Pick<ModelSettings, 'levels' | 'depth' | 'hidden'>>> = {
  glow: { small: { levels: 2, depth: 4, hidden: 64 }, medium: { levels: 3, depth: 8, hidden: 128 }, large: { levels: 3, depth: 16, hidden: 256 } },
  realnvp: { small: { levels: 2, depth: 2, hidden: 64 }, medium: { levels: 3, depth: 3, hidden: 128 }, large: { levels: 3, depth: 4, hidden: 256 } },
  nice: { small: { depth: 4, hidden: 256 }, medium: { depth: 4, hidden: 1000 }, large: { depth: 4, hidden: 2000 } },
};

export function presetModel(kind: ModelKind, size: PresetSize, imageSize: number, channels: 1 | 3): ModelSettings {
  const base: ModelSettings = { kind, size: imageSize, channels, ...shapes[kind][size] } as ModelSettings;
  return kind === 'glow' ? { ...base, coupling: 'affine', permutation: 'invconv' } : base;
}

export function defaultTrain(): TrainSettings {
  return { batch: 32, steps: 1000, lr: 1e-3, warmup: 200, nBits: 8, seed: 0, evalEvery: 50, checkpointEvery: 100, minutes: null };
}
