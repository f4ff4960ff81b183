// Builders of the Lab's discrete families, registered in lab-flows.ts: planar and radial stacks,
// Glow-style coupling stacks (ActNorm, LU linear, coupling) for any elementwise transform, and NICE
// (additive couplings, then a learned diagonal scaling so the model can change volume).
import { ParamStore, type ParamScope } from '../../flows/params.ts';
import type { Rng } from '../../random.ts';
import type { LabFlowName } from '../../../../common/lab/lab-catalog.ts';
import type { LabSettings } from '../../../../common/lab/lab-fields.ts';
import type { ElementwiseTransform } from '../elementwise.ts';
import { LayerStack } from '../layer-stack.ts';
import type { VectorLayer } from '../vector-layer.ts';
import { AdditiveTransform, AffineTransform } from '../transforms/affine.ts';
import { VectorActNorm } from './actnorm.ts';
import { Coupling } from './coupling.ts';
import { LuLinear } from './lu-linear.ts';
import { PlanarLayer } from './planar.ts';
import { RadialLayer } from './radial.ts';

/** A stack of settings.layers steps, step i's layers (data side first) made under the scope `layers.i`, then `tail`. */
function stack(
  flow: LabFlowName, settings: LabSettings, dim: number,
  step: (scope: ParamScope, i: number) => VectorLayer[],
  tail: (store: ParamStore) => VectorLayer[] = () => [],
): LayerStack {
  const store = new ParamStore();
  const layers: VectorLayer[] = [];
  for (let i = 0; i < settings.layers; i++) layers.push(...step(store.scope(`layers.${i}`), i));
  layers.push(...tail(store));
  return new LayerStack(flow, dim, settings, store, layers);
}

function coupling(scope: ParamScope, settings: LabSettings, dim: number, i: number, transform: ElementwiseTransform, rng: Rng): Coupling {
  return new Coupling(scope.child('coupling'), { dim, flip: i % 2 === 1, transform, hidden: settings.hidden, netDepth: settings.netDepth }, rng);
}

export function planarStack(settings: LabSettings, dim: number, rng: Rng): LayerStack {
  return stack('planar', settings, dim, (scope) => [new PlanarLayer(scope, dim, rng)]);
}

export function radialStack(settings: LabSettings, dim: number, rng: Rng): LayerStack {
  return stack('radial', settings, dim, (scope) => [new RadialLayer(scope, dim, rng)]);
}

/**
 * Glow's step per layer on rows: ActNorm, an LU linear layer, then a coupling with alternating
 * halves whose elementwise map `transformFor` gives (RealNVP: affine; spline couplings: a spline).
 */
export function couplingStack(
  flow: LabFlowName, settings: LabSettings, dim: number, rng: Rng,
  transformFor: (settings: LabSettings) => ElementwiseTransform,
): LayerStack {
  const transform = transformFor(settings);
  return stack(flow, settings, dim, (scope, i) => [
    new VectorActNorm(scope.child('actnorm'), dim),
    new LuLinear(scope.child('linear'), dim, rng),
    coupling(scope, settings, dim, i, transform, rng),
  ]);
}

export function realNvpStack(settings: LabSettings, dim: number, rng: Rng): LayerStack {
  return couplingStack('realnvp', settings, dim, rng, () => new AffineTransform());
}

/** NICE: additive couplings keep volume, so the last layer is a learned diagonal scaling (an ActNorm, started from data). */
export function niceStack(settings: LabSettings, dim: number, rng: Rng): LayerStack {
  const additive = new AdditiveTransform();
  return stack('nice', settings, dim,
    (scope, i) => [coupling(scope, settings, dim, i, additive, rng)],
    (store) => [new VectorActNorm(store.scope('scale'), dim)]);
}
