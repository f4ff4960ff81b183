// Model configurations: their fields, defaults and bounds are declared once in
// common/settings/model-fields.ts; `resolveModelConfig` fills and checks them, and the resolved
// config is what run.json and model.json save.
import { checkModelSettings, checkStoredModelSettings, shown, type Bounds, type Checked } from '../../../common/settings/check.ts';
import type { ModelKind } from '../../../common/settings/field.ts';
import type { ModelSettings, ResolvedModelSettings, ResolvedModelSettingsOf } from '../../../common/settings/model-fields.ts';
import { ConfigError } from '../errors.ts';

export type { ModelKind };
export type ModelConfig = ModelSettings;
export type GlowConfig = Extract<ModelConfig, { kind: 'glow' }>;
export type RealNvpConfig = Extract<ModelConfig, { kind: 'realnvp' }>;
export type NiceConfig = Extract<ModelConfig, { kind: 'nice' }>;
export type TarFlowConfig = Extract<ModelConfig, { kind: 'tarflow' }>;
export type FlowMatchingConfig = Extract<ModelConfig, { kind: 'flow-matching' }>;
export type ResolvedModelConfig = ResolvedModelSettings;
export type ResolvedGlowConfig = ResolvedModelSettingsOf<'glow'>;
export type ResolvedRealNvpConfig = ResolvedModelSettingsOf<'realnvp'>;
export type ResolvedNiceConfig = ResolvedModelSettingsOf<'nice'>;
export type ResolvedTarFlowConfig = ResolvedModelSettingsOf<'tarflow'>;

export type ResolvedFlowMatchingConfig = ResolvedModelSettingsOf<'flow-matching'>;

/** The checked value, or BAD_CONFIG naming the field. */
export function settingsOrThrow<T>(checked: Checked<T>): T {
  if (!checked.ok) throw new ConfigError('BAD_CONFIG', checked.problem.describe(checked.problem.field));
  return checked.value;
}

/**
 * Fills the defaults and checks every field: against every bound for a new model ('person'),
 * or only types and shape for a config read back from a run or model folder ('stored').
 */
export function resolveModelConfig(config: ModelConfig, bounds: Bounds = 'person'): ResolvedModelConfig {
  return settingsOrThrow(checkModelSettings(configObject(config), bounds));
}

/**
 * A config read back from a run or model folder: fields added since it was written take the
 * behaviour of then (the settings' `storedDefault`), and only types and shape are checked.
 */
export function resolveStoredModelConfig(config: unknown): ResolvedModelConfig {
  return settingsOrThrow(checkStoredModelSettings(configObject(config)));
}

function configObject(config: unknown): Record<string, unknown> {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ConfigError('BAD_CONFIG', `a model config must be an object with a "kind", got ${shown(config)}.`);
  }
  return config as Record<string, unknown>;
}
