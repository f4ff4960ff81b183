// The registry of Lab families: one builder per name of LAB_FLOWS. Code above it (trainer, CLI,
// worker) builds models through `buildLabModel` and never names a family's classes.
import type { LabFlowName } from '../../../common/lab/lab-catalog.ts';
import type { LabSettings } from '../../../common/lab/lab-fields.ts';
import type { Rng } from '../random.ts';
import type { LabModel, LabModelBuilder } from './lab-model.ts';
import { buildIaf, buildMaf, buildSplineAutoregressive } from './flows/autoregressive-flows.ts';
import { continuousFlowBuilder } from './flows/continuous-flow.ts';
import { couplingStack, niceStack, planarStack, radialStack, realNvpStack } from './flows/discrete-stacks.ts';
import { splineTransform } from './transforms/spline.ts';
import { buildResidualFlow } from './residual/residual-flow.ts';

const BUILDERS: Record<LabFlowName, LabModelBuilder> = {
  planar: planarStack,
  radial: radialStack,
  realnvp: realNvpStack,
  nice: niceStack,
  ffjord: continuousFlowBuilder('ffjord'),
  'flow-matching': continuousFlowBuilder('flow-matching'),
  residual: buildResidualFlow,
  maf: buildMaf,
  iaf: buildIaf,
  'spline-autoregressive': buildSplineAutoregressive,
  'spline-coupling': (settings, dim, rng) => couplingStack('spline-coupling', settings, dim, rng, splineTransform),
};

export function buildLabModel(flow: LabFlowName, settings: LabSettings, dim: number, rng: Rng): LabModel {
  return BUILDERS[flow](settings, dim, rng);
}
