// What makes a Glow or RealNVP class-conditional: config.classes > 0 gives its top prior a class
// embedding and a class head (flows/class-conditioning.ts), under the parameter names `classes.*`.
import { ClassConditioning } from '../flows/class-conditioning.ts';
import type { ParamStore } from '../flows/params.ts';
import type { ResolvedGlowConfig, ResolvedRealNvpConfig } from './config.ts';

/** The conditioning of a multiscale flow whose latents have `latentShapes` (the top last); null for classes 0. */
export function classConditioningOf(config: ResolvedGlowConfig | ResolvedRealNvpConfig, params: ParamStore, latentShapes: readonly [number, number, number][]): ClassConditioning | null {
  if (config.classes === 0) return null;
  const top = latentShapes[latentShapes.length - 1];
  return new ClassConditioning(params.scope('classes'), config.classes, top[2]);
}
