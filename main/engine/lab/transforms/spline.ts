// The spline a Lab family uses, chosen by its settings: one place maps the spline kind's name
// (SPLINE_KINDS) to its class, for spline couplings and spline autoregressive flows alike.
import type { LabSettings } from '../../../../common/lab/lab-fields.ts';
import type { ElementwiseTransform } from '../elementwise.ts';
import { PiecewiseLinearSpline } from './piecewise-linear.ts';
import { RationalQuadraticSpline } from './rational-quadratic.ts';

export function splineTransform(settings: Pick<LabSettings, 'spline' | 'bins' | 'tailBound'>): ElementwiseTransform {
  switch (settings.spline) {
    case 'rational-quadratic': return new RationalQuadraticSpline(settings.bins, settings.tailBound);
    case 'piecewise-linear': return new PiecewiseLinearSpline(settings.bins, settings.tailBound);
  }
}
