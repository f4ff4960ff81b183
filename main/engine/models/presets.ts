// Named model sizes for people who do not want to pick every setting: small trains in minutes
// on a laptop CPU, large is the Glow paper's shape for 32x32 images.
import type { ModelConfig, ModelKind } from './config.ts';

export type PresetName = 'small' | 'medium' | 'large';

const glow: Record<PresetName, { levels: number; depth: number; hidden: number }> = {
  small: { levels: 2, depth: 4, hidden: 64 },
  medium: { levels: 3, depth: 8, hidden: 128 },
  large: { levels: 3, depth: 32, hidden: 512 },
};
const realnvp: Record<PresetName, { levels: number; depth: number; hidden: number }> = {
  small: { levels: 2, depth: 2, hidden: 64 },
  medium: { levels: 3, depth: 3, hidden: 128 },
  large: { levels: 3, depth: 4, hidden: 256 },
};
const nice: Record<PresetName, { depth: number; hidden: number; mlpLayers: number }> = {
  small: { depth: 4, hidden: 256, mlpLayers: 2 },
  medium: { depth: 4, hidden: 1000, mlpLayers: 4 },
  large: { depth: 4, hidden: 2000, mlpLayers: 5 },
};

export function presetConfig(kind: ModelKind, preset: PresetName, size: number, channels: 1 | 3): ModelConfig {
  switch (kind) {
    case 'glow':
      return { kind, size, channels, ...glow[preset] };
    case 'realnvp':
      return { kind, size, channels, ...realnvp[preset] };
    case 'nice':
      return { kind, size, channels, ...nice[preset] };
  }
}
