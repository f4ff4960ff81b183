// Every model setting, declared once: the engine's config, the Api's checks, the CLI's options
// and the Train view's inputs are all read from here. The defaults are the "small" preset, a
// model that trains in minutes on a laptop CPU (presets.ts holds the larger shapes).
import { MODEL_KINDS, type ChoiceField, type Field, type ModelKind, type SettingValues } from './field.ts';
import type { SplineKind } from '../lab/lab-catalog.ts';
import { labFields } from '../lab/lab-fields.ts';

/** The spline of image couplings: the Lab's rational-quadratic one, by the Lab's name for it. */
export const IMAGE_SPLINE: SplineKind = 'rational-quadratic';

/** The model family. Not a field of the table below: it decides which of them apply. */
export const modelKindField = {
  type: 'choice',
  options: MODEL_KINDS,
  default: 'glow',
  label: 'Model family',
  help: 'Glow (ActNorm, 1x1 convolutions, couplings), RealNVP (checkerboard and channel-masked couplings), NICE (additive couplings on flattened pixels), TarFlow (causal Transformer blocks on patches, each an autoregressive affine flow) or flow matching (a U-Net velocity field, sampled and scored through an ODE)',
  view: 'main',
  flag: 'model',
  optionLabels: { glow: 'Glow', realnvp: 'RealNVP', nice: 'NICE', tarflow: 'TarFlow', 'flow-matching': 'Flow matching' },
} as const satisfies ChoiceField<ModelKind>;

/**
 * The bundled MNIST digits' own shape: what a run on them is imported at (the Data view's
 * choice and `flowdesk train` with no FOLDER). The fields' defaults below fit a person's own
 * pictures instead.
 */
export const BUNDLED_DIGITS = { size: 16, channels: 1 } as const;

export const modelFields = {
  size: {
    type: 'int', min: 4, max: 256, default: 32, unit: 'px', view: 'data',
    label: 'Image size', help: 'side of the square images the model sees; pictures are centre-cropped and resized to it',
  },
  channels: {
    type: 'choice', options: [1, 3], default: 3, view: 'data', optionLabels: { 1: 'gray', 3: 'RGB' },
    label: 'Channels', help: '1 for grayscale, 3 for RGB',
  },
  levels: {
    type: 'int', min: 1, max: 6, default: 2, kinds: ['glow', 'realnvp', 'flow-matching'], view: 'main',
    label: 'Levels', help: "multiscale levels (L): each squeezes the image to half its side (flow matching: the U-Net's down-samplings); the size must be divisible by 2^levels",
  },
  depth: {
    type: 'int', min: 1, max: 64, default: { glow: 4, realnvp: 2, nice: 4, tarflow: 4, 'flow-matching': 1 }, view: 'main',
    label: { glow: 'Steps per level', realnvp: 'Couplings per scale', nice: 'Couplings', tarflow: 'Flow blocks', 'flow-matching': 'Blocks per resolution' },
    help: "flow steps per level (Glow K), coupling layers per mask type in each scale (RealNVP), coupling layers (NICE), Transformer flow blocks (TarFlow), or the U-Net's residual blocks at each resolution on the way down and again on the way up (flow matching)",
  },
  hidden: {
    type: 'int', min: 1, max: 4096, default: { glow: 64, realnvp: 64, nice: 256, tarflow: 128, 'flow-matching': 32 }, unit: 'units', view: 'main',
    label: { glow: 'Hidden width', realnvp: 'Hidden width', nice: 'Hidden width', tarflow: 'Transformer width', 'flow-matching': 'Hidden width' },
    help: "width of each coupling network (channels of its convolutions, or units of its MLP layers for NICE), of each TarFlow block's Transformer, or flow matching's U-Net at full resolution (doubled at each level down)",
  },
  mlpLayers: {
    type: 'int', min: 1, max: 16, default: 2, kinds: ['nice'], unit: 'layers', view: 'main',
    label: 'MLP depth', help: 'hidden layers in each NICE coupling network',
  },
  coupling: {
    // Glow's configs always named it; RealNVP's, from before spline couplings, were affine.
    type: 'choice', options: ['affine', 'additive', 'spline'], default: 'affine', storedDefault: 'affine', kinds: ['glow', 'realnvp'], view: 'main',
    optionLabels: { spline: `spline (${IMAGE_SPLINE})` },
    label: 'Coupling',
    help: `affine couplings scale and shift; additive ones only shift (volume-preserving, as in NICE); spline ones map each value by a ${IMAGE_SPLINE} spline (Durkan et al. 2019)`,
  },
  bins: {
    ...labFields.bins, kinds: ['glow', 'realnvp'], view: 'advanced',
    label: 'Spline bins', help: `with spline couplings: segments of the ${IMAGE_SPLINE} spline between -bound and bound`,
  },
  tailBound: {
    ...labFields.tailBound, default: 3, kinds: ['glow', 'realnvp'], view: 'advanced',
    label: 'Spline tail bound', help: 'with spline couplings: the spline acts on [-bound, bound]; outside it each coupling is the identity',
  },
  permutation: {
    type: 'choice', options: ['invconv', 'shuffle', 'reverse'], default: 'invconv', kinds: ['glow'], view: 'main',
    optionLabels: { invconv: '1×1 conv' },
    label: 'Permutation', help: 'how channels mix between couplings: a learned invertible 1x1 convolution, a fixed shuffle, or a reversal',
  },
  couplingNet: {
    type: 'choice', options: ['actnorm', 'bias'], default: 'actnorm', storedDefault: 'bias', kinds: ['glow'], view: 'advanced',
    optionLabels: { actnorm: 'ActNorm (paper)', bias: 'bias' },
    label: 'Coupling network', help: "what follows each hidden convolution of a coupling network: ActNorm, as in the Glow paper, or a plain bias (FlowDesk's Glow before model format 2)",
  },
  topPrior: {
    type: 'choice', options: ['channel', 'position'], default: 'channel', storedDefault: 'position', kinds: ['glow'], view: 'advanced',
    optionLabels: { channel: 'per channel (paper)', position: 'per position' },
    label: 'Top prior', help: "the learned Gaussian of the top level's latent: a mean and scale per channel, as in the Glow paper, or per position and channel (FlowDesk's Glow before model format 2)",
  },
  classes: {
    type: 'int', min: 0, max: 1000, default: 0, kinds: ['glow', 'realnvp', 'tarflow', 'flow-matching'], view: 'derived',
    label: 'Classes', help: "classes of a class-conditional model, set from the imported folder's classes (0: unconditional)",
  },
  classWeight: {
    type: 'number', min: 0, max: 100, default: 0.01, kinds: ['glow', 'realnvp'], view: 'advanced',
    label: 'Class loss weight',
    help: "with classes: weight of the class-prediction loss (bits, from the top latent) added to each image's bits per dim (openai/glow's weight_y); 0 turns it off",
  },
  restoreTask: {
    type: 'choice', options: ['none', 'upscale-2', 'upscale-4', 'inpaint'], default: 'none', kinds: ['glow', 'realnvp'], view: 'advanced',
    optionLabels: { none: 'none (unconditional)', 'upscale-2': 'super-resolution x2', 'upscale-4': 'super-resolution x4', inpaint: 'inpainting' },
    label: 'Trained for restoration',
    help: "a conditional flow p(x | y) for one restoration task (SRFlow's idea): its couplings also see features of y, the image degraded on the fly; flowdesk upscale and inpaint then sample it instead of running Langevin",
  },
  labelDropout: {
    type: 'number', min: 0, max: 0.9, default: 0.1, kinds: ['tarflow', 'flow-matching'], view: 'advanced',
    label: 'Label dropout',
    help: "with classes: the share of training images whose class is hidden (an all-zero row), so one network also learns the unconditional model that classifier-free guidance needs",
  },
  patch: {
    type: 'int', min: 1, max: 16, default: 4, kinds: ['tarflow'], unit: 'px', view: 'main',
    label: 'Patch', help: 'side of the square patches TarFlow reads as one sequence element; the image size must be divisible by it',
  },
  attnLayers: {
    type: 'int', min: 1, max: 24, default: 1, kinds: ['tarflow'], unit: 'layers', view: 'main',
    label: 'Transformer layers', help: "attention and MLP layers in each TarFlow block's Transformer",
  },
  headDim: {
    type: 'int', min: 8, max: 256, default: 64, kinds: ['tarflow'], view: 'advanced',
    label: 'Head width', help: 'channels per attention head (heads = Transformer width / head width); the width must be divisible by it',
  },
  noise: {
    type: 'number', min: 0, max: 0.5, default: 0, kinds: ['tarflow'], view: 'advanced',
    label: 'Noise augmentation',
    help: 'standard deviation of Gaussian noise added to the training images (model-space units; image range 1), with a score-based denoising step after sampling; 0: plain dequantization, bits per dim as for Glow; above 0 they are of the noised data',
  },
  solver: {
    ...labFields.solver, kinds: ['flow-matching'],
    help: 'how flow matching integrates its ODE to sample, encode, decode and score images: fixed steps (Euler, Heun, RK4, the Lab\'s solvers) or adaptive Dormand-Prince',
  },
  odeSteps: {
    ...labFields.odeSteps, default: 4, max: 256, kinds: ['flow-matching'],
    help: 'steps of a fixed-step solver from noise to image: function evaluations (NFE) are this times 1 (Euler), 2 (Heun) or 4 (RK4); fixed, so bits per dim compare over a run',
  },
  tolerance: {
    ...labFields.tolerance, default: 1e-4, kinds: ['flow-matching'], view: 'advanced',
    help: 'relative and absolute tolerance of the adaptive solver (dopri5); it chooses its own number of steps',
  },
  probes: {
    type: 'int', min: 1, max: 64, default: 1, kinds: ['flow-matching'], view: 'advanced',
    label: 'Trace probes', help: "Hutchinson probes per image when flow matching's bits per dim are estimated (the divergence integrated along the ODE); more probes, less noise, proportionally slower",
  },
} as const satisfies Readonly<Record<string, Field>>;

/** The shape a person's own pictures are imported at unless they choose: the fields' defaults. */
export const OWN_IMAGES = { size: modelFields.size.default, channels: modelFields.channels.default } as const;

export type ModelFields = typeof modelFields;

/** Every setting of one model kind, filled in. */
export type ResolvedModelSettingsOf<K extends ModelKind> = { kind: K } & SettingValues<ModelFields, K>;
export type ResolvedModelSettings = { [K in ModelKind]: ResolvedModelSettingsOf<K> }[ModelKind];
/** Model settings as a person or a program gives them: the kind, and any of its fields (defaults fill the rest). */
export type ModelSettings = { [K in ModelKind]: { kind: K } & Partial<SettingValues<ModelFields, K>> }[ModelKind];
