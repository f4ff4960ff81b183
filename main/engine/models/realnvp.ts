// RealNVP (Dinh et al. 2017): each scale has checkerboard couplings, a squeeze, channel
// couplings, and factors out half its channels under a standard normal; the last scale has
// depth + 1 checkerboard couplings. ActNorm before each coupling stands in for batch norm. The
// couplings are the paper's affine ones unless `coupling` says additive or spline.
import { ActNorm } from '../flows/actnorm.ts';
import { classConditioningOf } from './class-conditional.ts';
import { observationConditioningOf, observedChannelsOf } from './restore-conditional.ts';
import { Coupling } from '../flows/coupling.ts';
import type { FlowLayer } from '../flows/flow-layer.ts';
import { ParamStore, type ParamScope } from '../flows/params.ts';
import { standardNormal } from '../flows/priors.ts';
import { Rng } from '../random.ts';
import type { ResolvedRealNvpConfig } from './config.ts';
import { MultiscaleFlow, type Level } from './multiscale-flow.ts';

function couplings(
  scope: ParamScope,
  count: number,
  shape: [number, number, number],
  mask: 'channel' | 'checkerboard',
  config: ResolvedRealNvpConfig,
  rng: Rng,
  observed: number,
): FlowLayer[] {
  const layers: FlowLayer[] = [];
  for (let k = 0; k < count; k++) {
    const step = scope.child(`${k}`);
    layers.push(new ActNorm(step.child('actnorm'), shape[2]));
    layers.push(new Coupling(step.child('coupling'), shape, { map: config, mask, flip: k % 2 === 1, hidden: config.hidden, net: 'bias', observed }, rng));
  }
  return layers;
}

export function createRealNvp(config: ResolvedRealNvpConfig, seed: number): MultiscaleFlow {
  const observed = observedChannelsOf(config);
  const rng = new Rng(seed);
  const params = new ParamStore();
  const levels: Level[] = [];
  const latentShapes: [number, number, number][] = [];
  let size = config.size;
  let channels = config.channels;
  for (let i = 0; i < config.levels; i++) {
    const scope = params.scope(`levels.${i}`);
    if (i === config.levels - 1) {
      const pre = couplings(scope.child('checkerboard'), config.depth + 1, [size, size, channels], 'checkerboard', config, rng, observed);
      levels.push({ pre, squeeze: false, post: [], prior: standardNormal, split: false });
      latentShapes.push([size, size, channels]);
      break;
    }
    const pre = couplings(scope.child('checkerboard'), config.depth, [size, size, channels], 'checkerboard', config, rng, observed);
    size /= 2;
    channels *= 4;
    const post = couplings(scope.child('channel'), config.depth, [size, size, channels], 'channel', config, rng, observed);
    levels.push({ pre, squeeze: true, post, prior: standardNormal, split: true });
    latentShapes.push([size, size, channels / 2]);
    channels /= 2;
  }
  // Features at the L sizes the scales' couplings work at (the last scale does not squeeze).
  const observation = observationConditioningOf(config, params, rng, config.levels);
  return new MultiscaleFlow(config, params, levels, latentShapes, classConditioningOf(config, params, latentShapes), observation);
}
