// Every Lab setting, declared once with its default, bounds and help: `flowdesk lab`'s options,
// the Api's checks, the Lab view's inputs and the stored Lab model read them from here. Which of
// them a family uses is LAB_FLOWS[flow].knobs (lab-catalog.ts).
import type { Field, SettingValue } from '../settings/field.ts';
import { LAB_FLOWS, LAB_OBJECTIVES, LR_SCHEDULES, SPLINE_KINDS, type LabFlowInfo, type LabFlowName } from './lab-catalog.ts';

/** Residual flows take log-determinants exactly (the whole Jacobian) up to this many dimensions, and estimate them above. */
export const EXACT_LOG_DET_MAX_DIM = 8;

export const labFields = {
  layers: {
    type: 'int', min: 1, max: 64, default: 8, view: 'main',
    label: 'Layers', help: 'flow layers (couplings, autoregressive layers, residual blocks, planar or radial maps)',
  },
  hidden: {
    type: 'int', min: 2, max: 512, default: 64, view: 'main',
    label: 'Hidden units', help: 'width of each network inside a layer (conditioner, residual branch, velocity field)',
  },
  netDepth: {
    type: 'int', min: 1, max: 8, default: 2, view: 'advanced',
    label: 'Hidden layers', help: 'hidden layers of each network inside a layer',
  },
  spline: {
    type: 'choice', options: SPLINE_KINDS, default: 'rational-quadratic', view: 'main',
    optionLabels: { 'rational-quadratic': 'Rational-quadratic', 'piecewise-linear': 'Piecewise-linear' },
    label: 'Spline', help: 'rational-quadratic (Durkan et al. 2019) or piecewise-linear (Müller et al. 2019) monotone splines',
  },
  bins: {
    type: 'int', min: 2, max: 64, default: 8, view: 'main',
    label: 'Bins', help: 'spline segments between -bound and bound',
  },
  tailBound: {
    type: 'number', min: 0.5, max: 50, default: 5, view: 'advanced',
    label: 'Tail bound', help: 'the spline acts on [-bound, bound]; outside it the transform is the identity (linear tails)',
  },
  lipschitz: {
    type: 'number', min: 0.1, max: 0.99, default: 0.9, view: 'advanced',
    label: 'Lipschitz bound', help: 'spectral normalisation keeps each residual branch below this Lipschitz constant (< 1 keeps the block invertible)',
  },
  logDetEstimator: {
    type: 'choice', options: ['russian-roulette', 'power-series', 'exact'], default: 'russian-roulette', view: 'advanced',
    optionLabels: { 'russian-roulette': 'Russian roulette (unbiased)', 'power-series': 'Truncated power series', exact: `Exact (up to ${EXACT_LOG_DET_MAX_DIM}-D)` },
    label: 'Log-det estimator', help: `how residual blocks estimate log|det(I + J)| in training (evaluation is exact up to ${EXACT_LOG_DET_MAX_DIM} dimensions)`,
  },
  seriesTerms: {
    type: 'int', min: 1, max: 50, default: 5, view: 'advanced',
    label: 'Series terms', help: 'power-series terms of the residual log-determinant (the Russian roulette expects this many before its coin flips)',
  },
  solver: {
    type: 'choice', options: ['rk4', 'dopri5', 'euler', 'heun'], default: 'rk4', view: 'main',
    optionLabels: { rk4: 'RK4 (fixed steps)', dopri5: 'Dormand-Prince (adaptive)', euler: 'Euler', heun: 'Heun' },
    label: 'ODE solver', help: 'how continuous flows integrate their ODE',
  },
  odeSteps: {
    type: 'int', min: 1, max: 1000, default: 8, view: 'main',
    label: 'ODE steps', help: 'steps of a fixed-step solver from t = 0 to 1 (the adaptive solver chooses its own)',
  },
  tolerance: {
    type: 'number', min: 1e-8, max: 1e-1, default: 1e-5, view: 'advanced',
    label: 'Tolerance', help: 'relative and absolute tolerance of the adaptive solver',
  },
  trace: {
    type: 'choice', options: ['hutchinson', 'exact'], default: 'hutchinson', view: 'advanced',
    optionLabels: { hutchinson: 'Hutchinson (one probe)', exact: 'Exact' },
    label: 'Trace in training', help: 'divergence of the velocity field while training: a Hutchinson estimate, or exact (D passes); evaluation is exact',
  },
  objective: {
    type: 'choice', options: LAB_OBJECTIVES, default: 'likelihood', view: 'main',
    optionLabels: { likelihood: 'Maximum likelihood (samples)', 'reverse-kl': 'Reverse KL (energy)' },
    label: 'Objective', help: 'fit samples by maximum likelihood, or an unnormalised density exp(-U) by reverse KL',
  },
  steps: {
    type: 'int', min: 1, max: 1_000_000, default: 3000, view: 'main',
    label: 'Steps', help: 'optimizer steps',
  },
  minutes: {
    type: 'number', min: 0.01, max: 10_000, default: null, nullMeans: 'no time limit', unit: 'min', view: 'main',
    label: 'Time limit', help: 'wall-clock budget; whichever of steps and minutes comes first ends training',
  },
  batch: {
    type: 'int', min: 8, max: 8192, default: 512, view: 'advanced',
    label: 'Batch', help: 'points per optimizer step',
  },
  lr: {
    type: 'number', min: 1e-6, max: 1, default: 1e-3, view: 'main',
    label: 'Learning rate', help: 'Adam learning rate (its peak, under the cosine schedule)',
  },
  schedule: {
    type: 'choice', options: LR_SCHEDULES, default: 'cosine', view: 'advanced',
    optionLabels: { cosine: 'Cosine to zero', constant: 'Constant' },
    label: 'Schedule', help: 'learning rate over a training run: cosine decays it to zero at the last step or the time limit, whichever comes first; constant keeps it',
  },
  seed: {
    type: 'int', min: 0, max: 2 ** 31 - 1, default: 0, view: 'main',
    label: 'Seed', help: 'seed of the weights, the batches and the estimators\' probes',
  },
} as const satisfies Readonly<Record<string, Field>>;

export type LabFieldKey = keyof typeof labFields;
/** A Lab model's settings, resolved: every field present (those its family ignores keep their defaults). */
export type LabSettings = { -readonly [K in LabFieldKey]: SettingValue<(typeof labFields)[K]> };

/** The default of each setting for one family: labFields' defaults with the family's own (LAB_FLOWS[flow].defaults) over them. */
export function labDefaults(flow: LabFlowName): LabSettings {
  const common = Object.fromEntries(Object.entries(labFields).map(([key, field]) => [key, field.default]));
  const info: LabFlowInfo = LAB_FLOWS[flow];
  return { ...common, ...info.defaults } as LabSettings;
}
