// Training settings: declared once in common/settings/train-fields.ts. `resolveTrainConfig` fills
// and checks a person's settings; the resolved config (optimizer settings nested under
// `optimizer`) is saved in run.json so a resumed run continues with exactly the settings it started with.
import { checkTrainSettings, type Bounds } from '../../../common/settings/check.ts';
import type { TrainSettings } from '../../../common/settings/train-fields.ts';
import { ConfigError } from '../errors.ts';
import { settingsOrThrow } from '../models/config.ts';
import { OPTIMIZER_KEYS, optimizerConfigOf, type ResolvedOptimizerConfig } from './optimizer.ts';

type OptimizerKey = (typeof OPTIMIZER_KEYS)[number];

/** Training settings as a person gives them, flat; defaults fill what is left out. */
export type TrainConfig = Partial<TrainSettings>;
export type ResolvedTrainConfig = Omit<TrainSettings, OptimizerKey> & { optimizer: ResolvedOptimizerConfig };

function resolve(flat: Record<string, unknown>, bounds: Bounds): ResolvedTrainConfig {
  const settings = settingsOrThrow(checkTrainSettings(flat, bounds));
  const rest: Record<string, unknown> = { ...settings };
  for (const key of OPTIMIZER_KEYS) delete rest[key];
  return { ...(rest as Omit<TrainSettings, OptimizerKey>), optimizer: optimizerConfigOf(settings) };
}

export function resolveTrainConfig(c: TrainConfig = {}): ResolvedTrainConfig {
  return resolve(c, 'person');
}

/** The flat settings of a resolved config, as the Api and the Train view carry them. */
export function trainSettingsOf({ optimizer: { kind, ...optimizer }, ...rest }: ResolvedTrainConfig): TrainSettings {
  return { ...rest, ...optimizer, optimizer: kind };
}

/**
 * A config read back from run.json, held only to its types so a bound tightened since it was
 * written never refuses it; `changes` (e.g. more steps on resume) were checked where a person gave them.
 */
export function readStoredTrainConfig(stored: ResolvedTrainConfig, changes: TrainConfig = {}): ResolvedTrainConfig {
  if (typeof stored !== 'object' || stored === null || typeof stored.optimizer !== 'object' || stored.optimizer === null) {
    throw new ConfigError('BAD_CONFIG', `train must be an object with an "optimizer" object, got ${JSON.stringify(stored)?.slice(0, 80)}.`);
  }
  // Runs written before the flip setting existed trained without it; 'auto' would change them on resume.
  return resolve({ flip: 'off', ...(trainSettingsOf(stored) as Partial<TrainSettings>), ...changes }, 'stored');
}
