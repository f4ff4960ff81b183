// Glow (Kingma & Dhariwal 2018): L levels of K steps (ActNorm, invertible 1x1 conv or a fixed
// permutation, coupling), a split with a learned conditional prior after each level but the
// last, and a learned prior at the top. `couplingNet` and `topPrior` choose between the paper's
// layers (the default) and those of FlowDesk's Glow before model format 2.
import { ActNorm } from '../flows/actnorm.ts';
import { classConditioningOf } from './class-conditional.ts';
import { observationConditioningOf, observedChannelsOf } from './restore-conditional.ts';
import { Coupling } from '../flows/coupling.ts';
import type { FlowLayer } from '../flows/flow-layer.ts';
import { InvConv1x1 } from '../flows/invconv.ts';
import { ParamStore } from '../flows/params.ts';
import { ChannelPermutation } from '../flows/permute.ts';
import { ChannelPrior, ConditionalPrior, PositionPrior, type Prior } from '../flows/priors.ts';
import { Rng } from '../random.ts';
import type { ResolvedGlowConfig } from './config.ts';
import { MultiscaleFlow, type Level } from './multiscale-flow.ts';

export function createGlow(config: ResolvedGlowConfig, seed: number): MultiscaleFlow {
  const observed = observedChannelsOf(config);
  const rng = new Rng(seed);
  const params = new ParamStore();
  const levels: Level[] = [];
  const latentShapes: [number, number, number][] = [];
  let size = config.size;
  let channels = config.channels;
  for (let i = 0; i < config.levels; i++) {
    size /= 2;
    channels *= 4;
    const scope = params.scope(`levels.${i}`);
    const post: FlowLayer[] = [];
    for (let k = 0; k < config.depth; k++) {
      const step = scope.child(`steps.${k}`);
      post.push(new ActNorm(step.child('actnorm'), channels));
      post.push(
        config.permutation === 'invconv'
          ? new InvConv1x1(step.child('invconv'), channels, rng)
          : new ChannelPermutation(step.child('permute'), channels, config.permutation, rng),
      );
      post.push(
        new Coupling(step.child('coupling'), [size, size, channels], {
          map: config,
          mask: 'channel',
          flip: false,
          hidden: config.hidden,
          net: config.couplingNet,
          observed,
        }, rng),
      );
    }
    const last = i === config.levels - 1;
    if (last) {
      const prior: Prior =
        config.topPrior === 'channel' ? new ChannelPrior(scope.child('prior'), channels) : new PositionPrior(scope.child('prior'), [size, size, channels]);
      levels.push({ pre: [], squeeze: true, post, prior, split: false });
      latentShapes.push([size, size, channels]);
    } else {
      levels.push({ pre: [], squeeze: true, post, prior: new ConditionalPrior(scope.child('prior'), channels / 2, channels / 2), split: true });
      latentShapes.push([size, size, channels / 2]);
      channels /= 2;
    }
  }
  // Features at every level's size after its squeeze: the full size and L halvings.
  const observation = observationConditioningOf(config, params, rng, config.levels + 1);
  return new MultiscaleFlow(config, params, levels, latentShapes, classConditioningOf(config, params, latentShapes), observation);
}
