// The autoregressive Lab families: MAF and IAF (affine) and spline autoregressive flows, each a
// stack of `layers` autoregressive layers whose order is reversed from one layer to the next.
import type { LabFlowName } from '../../../../common/lab/lab-catalog.ts';
import type { LabSettings } from '../../../../common/lab/lab-fields.ts';
import { ParamStore } from '../../flows/params.ts';
import { AutoregressiveLayer, type AutoregressiveDirection } from '../autoregressive.ts';
import type { ElementwiseTransform } from '../elementwise.ts';
import type { LabModelBuilder } from '../lab-model.ts';
import { LayerStack } from '../layer-stack.ts';
import { orderDegrees } from '../made.ts';
import { AffineTransform } from '../transforms/affine.ts';
import { splineTransform } from '../transforms/spline.ts';

function autoregressiveBuilder(flow: LabFlowName, direction: AutoregressiveDirection, transformOf: (settings: LabSettings) => ElementwiseTransform): LabModelBuilder {
  return (settings, dim, rng) => {
    const params = new ParamStore();
    const transform = transformOf(settings);
    const layers = Array.from({ length: settings.layers }, (_, i) => new AutoregressiveLayer(
      params.scope(`layers.${i}`),
      { transform, direction, degrees: orderDegrees(dim, i % 2 === 1), hidden: settings.hidden, netDepth: settings.netDepth },
      rng,
    ));
    return new LayerStack(flow, dim, settings, params, layers);
  };
}

export const buildMaf = autoregressiveBuilder('maf', 'maf', () => new AffineTransform('exp'));
export const buildIaf = autoregressiveBuilder('iaf', 'iaf', () => new AffineTransform('exp'));
export const buildSplineAutoregressive = autoregressiveBuilder('spline-autoregressive', 'maf', splineTransform);
