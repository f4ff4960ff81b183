// What makes a Glow or RealNVP restoration-trained (issue 17, way 2): config.restoreTask other than
// 'none' gives it an encoder of the observation y (parameters `observation.*`) whose features every coupling sees.
import { ConfigError } from '../errors.ts';
import { ObservationEncoder, observationWidth } from '../flows/observation-encoder.ts';
import type { ParamStore } from '../flows/params.ts';
import type { Rng } from '../random.ts';
import { observationChannels, taskFactor, type RestoreTask } from '../restore/observation.ts';
import type { ResolvedGlowConfig, ResolvedRealNvpConfig } from './config.ts';

export interface ObservationConditioning {
  readonly task: Exclude<RestoreTask, 'none'>;
  readonly encoder: ObservationEncoder;
}

/**
 * Feature channels each coupling of the flow sees besides its input: 0 for a model not trained for
 * restoration. Called before any layer is built, it refuses a task the model cannot take.
 */
export function observedChannelsOf(config: ResolvedGlowConfig | ResolvedRealNvpConfig): number {
  if (config.restoreTask === 'none') return 0;
  checkTask(config);
  return observationWidth(config.hidden);
}

/** Refuses a task the model's shape or classes cannot take, naming the setting and what to do. */
function checkTask(config: ResolvedGlowConfig | ResolvedRealNvpConfig): void {
  const factor = taskFactor(config.restoreTask);
  if (factor !== null && config.size % factor !== 0) {
    throw new ConfigError('BAD_CONFIG', `restoreTask ${config.restoreTask} needs an image size divisible by ${factor}; the size is ${config.size}: choose another size or task.`);
  }
  if (config.classes > 0) {
    throw new ConfigError('BAD_CONFIG', `restoreTask ${config.restoreTask} trains on an unlabelled set; this run has ${config.classes} classes: import without classes (classes none) or set restoreTask none.`);
  }
}

/**
 * The observation's encoder of a flow whose couplings need features at `resolutions` sizes (the
 * full size first, each half the one before); null for restoreTask 'none', whose model is then
 * exactly the unconditional one of before.
 */
export function observationConditioningOf(config: ResolvedGlowConfig | ResolvedRealNvpConfig, params: ParamStore, rng: Rng, resolutions: number): ObservationConditioning | null {
  const task = config.restoreTask;
  if (task === 'none') return null;
  const encoder = new ObservationEncoder(params.scope('observation'), observationChannels(task, config.channels), observedChannelsOf(config), resolutions, rng);
  return { task, encoder };
}
