// The Lab's names, declared once: every vector-flow family, spline kind, objective, sample target
// and energy, with what each can do. The engine's registry, the CLI, the Api's checks and the Lab
// view read them from here, so a name means one thing everywhere.

/** The format name in a Lab model's model.json; image commands check it to refuse a Lab model clearly. */
export const LAB_MODEL_FORMAT = 'flowdesk-lab-model';

/** How a family computes one direction: in closed form, by a numerical inverse, by an ODE, or not at all. */
export type LabDirection = 'closed' | 'numerical' | 'ode' | 'none';

export interface LabFlowInfo {
  readonly label: string;
  readonly help: string;
  /** Data density log q(x) (needs the data-to-base direction). */
  readonly density: LabDirection;
  /** Sampling (the base-to-data direction). */
  readonly sampling: LabDirection;
  /** Objectives it trains with; the first is its default. */
  readonly objectives: readonly LabObjective[];
  /** Keys of labFields (lab-fields.ts) that apply to it, in the order the Lab view shows them. */
  readonly knobs: readonly string[];
  /** Where its defaults differ from labFields' (a family too slow at the common size to train live). */
  readonly defaults?: Readonly<Record<string, number | string>>;
}

export const LAB_OBJECTIVES = ['likelihood', 'reverse-kl'] as const;
export type LabObjective = (typeof LAB_OBJECTIVES)[number];

/** The elementwise spline of spline flows, Lab and image couplings alike. */
export const SPLINE_KINDS = ['rational-quadratic', 'piecewise-linear'] as const;
export type SplineKind = (typeof SPLINE_KINDS)[number];

/** How the learning rate moves over one training run (lab-trainer.ts). */
export const LR_SCHEDULES = ['cosine', 'constant'] as const;
export type LrSchedule = (typeof LR_SCHEDULES)[number];

const MLP = ['layers', 'hidden', 'netDepth'] as const;
const TRAIN = ['steps', 'minutes', 'batch', 'lr', 'schedule', 'seed'] as const;

export const LAB_FLOWS = {
  planar: {
    label: 'Planar', help: 'x = z + u h(w·z + b) (Rezende & Mohamed 2015); û keeps w·û ≥ -1 so each layer is invertible',
    density: 'numerical', sampling: 'closed', objectives: ['reverse-kl', 'likelihood'], knobs: ['layers', ...TRAIN, 'objective'],
  },
  radial: {
    label: 'Radial', help: 'x = z + β h(α, r)(z - z0) (Rezende & Mohamed 2015); β ≥ -α keeps each layer invertible',
    density: 'numerical', sampling: 'closed', objectives: ['reverse-kl', 'likelihood'], knobs: ['layers', ...TRAIN, 'objective'],
  },
  realnvp: {
    label: 'RealNVP', help: 'affine couplings with alternating masks, ActNorm and an LU linear layer between them',
    density: 'closed', sampling: 'closed', objectives: ['likelihood', 'reverse-kl'], knobs: [...MLP, ...TRAIN, 'objective'],
  },
  nice: {
    label: 'NICE', help: 'additive (volume-preserving) couplings with alternating masks, then a learned diagonal scaling so it can change volume (as in the NICE paper)',
    density: 'closed', sampling: 'closed', objectives: ['likelihood', 'reverse-kl'], knobs: [...MLP, ...TRAIN, 'objective'],
  },
  maf: {
    label: 'MAF', help: 'masked autoregressive flow on MADE masks: density in one pass, sampling in D passes',
    density: 'closed', sampling: 'numerical', objectives: ['likelihood'], knobs: [...MLP, ...TRAIN],
  },
  iaf: {
    label: 'IAF', help: 'inverse autoregressive flow (MAF run the other way): sampling in one pass, density in D passes',
    density: 'numerical', sampling: 'closed', objectives: ['reverse-kl', 'likelihood'], knobs: [...MLP, ...TRAIN, 'objective'],
  },
  'spline-coupling': {
    label: 'Spline coupling', help: 'monotone spline couplings (rational-quadratic or piecewise-linear, linear tails outside the bound)',
    density: 'closed', sampling: 'closed', objectives: ['likelihood', 'reverse-kl'], knobs: [...MLP, 'spline', 'bins', 'tailBound', ...TRAIN, 'objective'],
  },
  'spline-autoregressive': {
    label: 'Spline autoregressive', help: 'autoregressive monotone splines on MADE masks (neural spline flow, autoregressive form)',
    density: 'closed', sampling: 'numerical', objectives: ['likelihood'], knobs: [...MLP, 'spline', 'bins', 'tailBound', ...TRAIN],
    // Fewer, finer layers: a step costs per layer, and thin rings need narrow bins. Chosen from 3-minute
    // runs here (cosine schedule): KL 0.014 / 0.048 / 0.028 nats on 8 Gaussians / checkerboard / rings,
    // against 0.046 on the checkerboard and 0.12 on the rings at 8 layers of 8 bins, lr 5e-3.
    defaults: { layers: 4, bins: 32, tailBound: 4, lr: 1e-2 },
  },
  residual: {
    label: 'Residual (i-ResNet)', help: 'x + g(x) with spectrally normalised g (Lipschitz < 1): inverse by fixed-point iteration, log-determinant by a power series',
    density: 'closed', sampling: 'numerical', objectives: ['likelihood'],
    knobs: [...MLP, 'lipschitz', 'logDetEstimator', 'seriesTerms', ...TRAIN],
    // Each block costs a Jacobian-vector product per series term: about 1 s a step at 8 x 64 x 512 on wasm here.
    defaults: { layers: 4, hidden: 32, batch: 256 },
  },
  ffjord: {
    label: 'FFJORD (continuous)', help: 'a neural ODE; log-density by the instantaneous change of variables (Hutchinson trace in training)',
    density: 'ode', sampling: 'ode', objectives: ['likelihood', 'reverse-kl'],
    knobs: ['hidden', 'netDepth', 'solver', 'odeSteps', 'tolerance', 'trace', ...TRAIN, 'objective'],
    // Every solver stage is a network pass with a tangent: about 1.3 s a step at 64 x 512 with 8 RK4 steps on wasm here.
    defaults: { hidden: 32, batch: 256, odeSteps: 4 },
  },
  'flow-matching': {
    label: 'Flow matching', help: 'a velocity field regressed on the conditional optimal-transport path; sampled and scored through the ODE',
    density: 'ode', sampling: 'ode', objectives: ['likelihood'], knobs: ['hidden', 'netDepth', 'solver', 'odeSteps', 'tolerance', ...TRAIN],
  },
} as const satisfies Readonly<Record<string, LabFlowInfo>>;
export type LabFlowName = keyof typeof LAB_FLOWS;
export const LAB_FLOW_NAMES = Object.keys(LAB_FLOWS) as LabFlowName[];

/**
 * Two-dimensional sample targets defined exactly as rtqichen/ffjord's `lib/toy_data.py`, so
 * figures compare with the literature; `exact` says the true density is known (KL to truth).
 */
export const LAB_SAMPLE_TARGETS = {
  '8gaussians': { label: '8 Gaussians', exact: true },
  checkerboard: { label: 'Checkerboard', exact: true },
  rings: { label: 'Rings', exact: true },
  moons: { label: 'Two moons', exact: false },
  pinwheel: { label: 'Pinwheel', exact: false },
  swissroll: { label: 'Swiss roll', exact: false },
  '2spirals': { label: 'Two spirals', exact: false },
} as const;
export type LabSampleTargetName = keyof typeof LAB_SAMPLE_TARGETS;

/** Unnormalised densities exp(-U) for reverse-KL training; each is normalised on a grid for the KL to truth. */
export const LAB_ENERGIES = {
  u1: { label: 'U1 (ring)' },
  u2: { label: 'U2 (wave)' },
  u3: { label: 'U3 (wave, split)' },
  u4: { label: 'U4 (wave, step)' },
  mixture: { label: 'Gaussian mixture' },
} as const;
export type LabEnergyName = keyof typeof LAB_ENERGIES;

/** What a Lab model learns from: samples of a named target, points drawn or dropped by a person, a table, or an energy. */
export type LabTargetSpec =
  | { kind: 'samples'; name: LabSampleTargetName }
  | { kind: 'points'; points: number[][] }
  | { kind: 'image'; width: number; height: number; /** brightness 0..1, row-major */ pixels: number[] }
  | { kind: 'csv'; file: string }
  | { kind: 'energy'; name: LabEnergyName }
  | { kind: 'expression'; expression: string }
  /** Another Lab model's density, fitted by reverse KL: distillation (an IAF student of a MAF teacher). */
  | { kind: 'model'; id: string };
