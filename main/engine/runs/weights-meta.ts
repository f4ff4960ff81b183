// What a weights file says it holds, in its safetensors `__metadata__`: which weights
// ("weights": avg, last or best), from which step, the moving average's decay, and for the best
// ones their validation bits per dim. Files written before this (no metadata) read as plain weights.
import { WEIGHTS_CHOICES, type WeightsChoice, type WeightsInfo } from '../../../common/weights.ts';
import { CheckpointError } from '../errors.ts';

/** The metadata of weights `used`, `step` and, where they apply, `decay` and `valBpd`. */
export function weightsMeta(info: Omit<WeightsInfo, 'requested'>): Record<string, string> {
  const meta: Record<string, string> = { weights: info.used };
  if (info.step !== null) meta.step = String(info.step);
  if (info.decay !== null) meta.decay = String(info.decay);
  if (info.valBpd !== null) meta.valBpd = String(info.valBpd);
  return meta;
}

function numberIn(meta: Record<string, string>, key: string, source: string, valid: (n: number) => boolean): number | null {
  if (meta[key] === undefined) return null;
  const n = Number(meta[key]);
  if (meta[key].trim() === '' || !valid(n)) throw new CheckpointError('BAD_CHECKPOINT', `${source}: metadata "${key}" is not a valid ${key === 'step' ? 'step' : 'number'}.`);
  return n;
}

/**
 * The weights a file holds, from its metadata; `plain` is what a file without any says (a
 * checkpoint's weights.safetensors: the last weights, of the step its folder names).
 */
export function weightsInfoOf(meta: Record<string, string>, requested: WeightsChoice, plain: { used: WeightsChoice; step: number | null }, source: string): WeightsInfo {
  const kind = meta.weights;
  if (kind !== undefined && !(WEIGHTS_CHOICES as readonly string[]).includes(kind)) {
    throw new CheckpointError('BAD_CHECKPOINT', `${source}: metadata "weights" must be one of ${WEIGHTS_CHOICES.join(', ')}.`);
  }
  return {
    requested,
    used: (kind as WeightsChoice | undefined) ?? plain.used,
    step: numberIn(meta, 'step', source, (n) => Number.isSafeInteger(n) && n >= 0) ?? plain.step,
    decay: numberIn(meta, 'decay', source, (n) => n >= 0 && n < 1),
    valBpd: numberIn(meta, 'valBpd', source, Number.isFinite),
  };
}
