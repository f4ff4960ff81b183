// Model configurations with their defaults in one place; `resolveModelConfig` fills the
// defaults and checks every field, and the resolved config is what run.json and model.json save.
import { ConfigError } from '../errors.ts';

export type ModelKind = 'glow' | 'realnvp' | 'nice';

interface CommonConfig {
  /** Side of the square input images in pixels. Defaults to 32. */
  size?: number;
  /** 1 for grayscale, 3 for RGB. Defaults to 3. */
  channels?: 1 | 3;
  /** Width of the coupling networks. Defaults to 256 (NICE: 1000). */
  hidden?: number;
}

export interface GlowConfig extends CommonConfig {
  kind: 'glow';
  /** Number of multiscale levels L. Defaults to 3. */
  levels?: number;
  /** Flow steps per level K. Defaults to 8. */
  depth?: number;
  /** Coupling type. Defaults to 'affine'. */
  coupling?: 'affine' | 'additive';
  /** Channel mixing between couplings. Defaults to 'invconv'. */
  permutation?: 'invconv' | 'shuffle' | 'reverse';
}

export interface RealNvpConfig extends CommonConfig {
  kind: 'realnvp';
  /** Number of scales. Defaults to 3. */
  levels?: number;
  /** Coupling layers per mask type in each scale (the last scale has depth + 1). Defaults to 3. */
  depth?: number;
}

export interface NiceConfig extends CommonConfig {
  kind: 'nice';
  /** Additive coupling layers. Defaults to 4. */
  depth?: number;
  /** Hidden layers in each coupling's MLP. Defaults to 4. */
  mlpLayers?: number;
}

export type ModelConfig = GlowConfig | RealNvpConfig | NiceConfig;
export type ResolvedGlowConfig = Required<GlowConfig>;
export type ResolvedRealNvpConfig = Required<RealNvpConfig>;
export type ResolvedNiceConfig = Required<NiceConfig>;
export type ResolvedModelConfig = ResolvedGlowConfig | ResolvedRealNvpConfig | ResolvedNiceConfig;

/** An untrusted value as a person reads it: JSON.stringify writes Infinity (1e400 in a file) as null. */
function shown(value: unknown): string {
  return typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value)).slice(0, 80);
}

function intIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError('BAD_CONFIG', `${field} must be a whole number from ${min} to ${max}, got ${shown(value)}.`);
  }
  return value;
}

function oneOf<T extends string | number>(value: unknown, field: string, options: readonly T[]): T {
  if (!options.includes(value as T)) {
    throw new ConfigError('BAD_CONFIG', `${field} must be one of ${options.join(', ')}, got ${shown(value)}.`);
  }
  return value as T;
}

export function resolveModelConfig(config: ModelConfig): ResolvedModelConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ConfigError('BAD_CONFIG', `a model config must be an object with a "kind", got ${shown(config)}.`);
  }
  const kind = oneOf(config.kind, 'kind', ['glow', 'realnvp', 'nice'] as const);
  const size = intIn(config.size ?? 32, 'size', 2, 512);
  const channels = oneOf(config.channels ?? 3, 'channels', [1, 3] as const);
  if (kind === 'nice') {
    const c = config as NiceConfig;
    return {
      kind,
      size,
      channels,
      hidden: intIn(c.hidden ?? 1000, 'hidden', 1, 8192),
      depth: intIn(c.depth ?? 4, 'depth', 1, 64),
      mlpLayers: intIn(c.mlpLayers ?? 4, 'mlpLayers', 1, 16),
    };
  }
  const levels = intIn((config as GlowConfig).levels ?? 3, 'levels', 1, 8);
  if (size % 2 ** levels !== 0) {
    throw new ConfigError('BAD_CONFIG', `size ${size} must be divisible by 2^levels = ${2 ** levels}; choose another size or fewer levels.`);
  }
  const shared = { size, channels, levels, hidden: intIn(config.hidden ?? 256, 'hidden', 1, 4096) };
  if (kind === 'glow') {
    const c = config as GlowConfig;
    return {
      kind,
      ...shared,
      depth: intIn(c.depth ?? 8, 'depth', 1, 64),
      coupling: oneOf(c.coupling ?? 'affine', 'coupling', ['affine', 'additive'] as const),
      permutation: oneOf(c.permutation ?? 'invconv', 'permutation', ['invconv', 'shuffle', 'reverse'] as const),
    };
  }
  return { kind, ...shared, depth: intIn(config.depth ?? 3, 'depth', 1, 64) };
}
