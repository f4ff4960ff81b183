// The registry of Lab families: one builder per name of LAB_FLOWS. Code above it (trainer, CLI,
// worker) builds models through `buildLabModel` and never names a family's classes.
import type { LabFlowName } from '../../../common/lab/lab-catalog.ts';
import type { LabSettings } from '../../../common/lab/lab-fields.ts';
import type { Rng } from '../random.ts';
import type { LabModel, LabModelBuilder } from './lab-model.ts';
import { buildIaf, buildMaf, buildSplineAutoregressive } from './flows/autoregressive-flows.ts';

const BUILDERS: Partial<Record<LabFlowName, LabModelBuilder>> = {
  maf: buildMaf,
  iaf: buildIaf,
  'spline-autoregressive': buildSplineAutoregressive,
};

export function buildLabModel(flow: LabFlowName, settings: LabSettings, dim: number, rng: Rng): LabModel {
  const build = BUILDERS[flow];
  if (!build) throw new Error(`the Lab has no builder for ${flow} yet`);
  return build(settings, dim, rng);
}
