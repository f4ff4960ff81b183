// Adam and Adamax with linear learning-rate warmup and global gradient-norm clipping. Their
// moment estimates are plain named tensors so a checkpoint saves them and resume is exact.
import * as tf from '../tf.ts';
import { checkSettings } from '../../../common/settings/check.ts';
import { pickFields } from '../../../common/settings/field.ts';
import { trainFields, type TrainSettings } from '../../../common/settings/train-fields.ts';
import type { NamedArray } from '../checkpoint/safetensors.ts';
import { CheckpointError } from '../errors.ts';
import type { StepGradients } from './gradients.ts';
import { settingsOrThrow } from '../models/config.ts';

/** The training settings run.json keeps under `train.optimizer` (the `optimizer` choice as `kind`). */
export const OPTIMIZER_KEYS = ['optimizer', 'lr', 'warmup', 'clipNorm', 'beta1', 'beta2', 'epsilon'] as const;
const optimizerFields = pickFields(trainFields, OPTIMIZER_KEYS);

type OptimizerSettings = Pick<TrainSettings, (typeof OPTIMIZER_KEYS)[number]>;
/** Adam or Adamax, their learning rate, warmup, clipping and moment decays (defaults in common/settings/train-fields.ts). */
export type ResolvedOptimizerConfig = { kind: OptimizerSettings['optimizer'] } & Omit<OptimizerSettings, 'optimizer'>;
export type OptimizerConfig = Partial<ResolvedOptimizerConfig>;

/** The flat settings' optimizer part, shaped as run.json stores it. */
export function optimizerConfigOf(settings: OptimizerSettings): ResolvedOptimizerConfig {
  return Object.fromEntries(OPTIMIZER_KEYS.map((key) => [key === 'optimizer' ? 'kind' : key, settings[key]])) as ResolvedOptimizerConfig;
}

export function resolveOptimizerConfig({ kind, ...rest }: OptimizerConfig = {}): ResolvedOptimizerConfig {
  return optimizerConfigOf(settingsOrThrow(checkSettings<OptimizerSettings>(optimizerFields, { ...rest, optimizer: kind }, 'person')));
}

export interface StepReport {
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Learning rate used for this update. */
  lr: number;
}

/** What one training step did: its loss, and whether its update was applied (skipped when not finite). */
export interface StepOutcome extends StepReport {
  loss: number;
  applied: boolean;
  /**
   * The weights an applied step wrote, as one vector in the parameters' order, where the runtime
   * has them so (onnx: its output, valid until the next step); elsewhere read from the variables.
   */
  weights?: Float32Array;
}

/** Sum of the squares of every gradient, one scalar (the global norm is its square root). */
export function squaredNorm(grads: tf.Tensor[]): tf.Scalar {
  return tf.addN(grads.map((g) => tf.sum(tf.square(g)))) as tf.Scalar;
}

/**
 * One parameter's Adam or Adamax update from its clipped gradient `g`: the maths of both the
 * tfjs step (Optimizer.apply) and the onnxruntime step, which traces this function into its graph.
 * `stepSize` is the update's bias-corrected learning rate (Optimizer.nextStep).
 */
export function updatedParam(
  { kind, beta1, beta2, epsilon }: ResolvedOptimizerConfig,
  tensors: { p: tf.Tensor; g: tf.Tensor; m: tf.Tensor; v: tf.Tensor },
  stepSize: number | tf.Scalar,
): { p: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  const { p, g, m, v } = tensors;
  const mNew = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
  const vNew = kind === 'adam' ? tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)) : tf.maximum(tf.mul(v, beta2), tf.abs(g));
  const denominator = kind === 'adam' ? tf.sqrt(vNew) : vNew;
  return { p: tf.sub(p, tf.mul(tf.div(mNew, tf.add(denominator, epsilon)), stepSize)), m: mNew, v: vNew };
}

/**
 * A step that keeps the moments outside tfjs between updates (onnxruntime's fused step): it holds
 * them from `lend` until the optimizer takes them back with `returnMoments`, which stores their
 * current values in the optimizer's tensors.
 */
export interface MomentHolder {
  returnMoments(): void;
}

export class Optimizer {
  /** Updates applied so far (bias correction and warmup count from it). */
  step = 0;
  /** Multiplies the configured learning rate (lowered after repeated non-finite steps). */
  lrScale = 1;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  /** Who holds the current moments, when not these tensors. */
  private holder: MomentHolder | null = null;

  constructor(
    readonly config: ResolvedOptimizerConfig,
    private readonly params: Map<string, tf.Variable>,
  ) {
    for (const [name, p] of params) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false));
      this.v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  learningRate(step = this.step + 1): number {
    const { lr, warmup } = this.config;
    return lr * this.lrScale * (warmup > 0 ? Math.min(1, step / warmup) : 1);
  }

  /** The next update's learning rate and its bias-corrected step size. */
  nextStep(): { lr: number; stepSize: number } {
    const { beta1, beta2, kind } = this.config;
    const t = this.step + 1;
    const lr = this.learningRate(t);
    return { lr, stepSize: kind === 'adam' ? (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t) : lr / (1 - beta1 ** t) };
  }

  /** Global L2 norm of the gradients (one number, read back once per step). */
  static gradNorm(grads: Record<string, tf.Tensor>): number {
    return tf.tidy(() => Math.sqrt(squaredNorm(Object.values(grads)).dataSync()[0]));
  }

  /** Applies one update; `gradNorm` must be finite (the caller skips non-finite steps). */
  apply(grads: Record<string, tf.Tensor>, gradNorm: number): StepReport {
    this.reclaimMoments();
    const { clipNorm } = this.config;
    const { lr, stepSize } = this.nextStep();
    const clip = gradNorm > clipNorm ? clipNorm / gradNorm : 1;
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g0 = grads[name];
        if (!g0) continue;
        const g = clip === 1 ? g0 : tf.mul(g0, clip);
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const next = updatedParam(this.config, { p, g, m, v }, stepSize);
        m.assign(next.m);
        v.assign(next.v);
        p.assign(next.p);
      }
    });
    this.step += 1;
    return { gradNorm, lr };
  }

  /**
   * One step from a batch's loss and gradients (disposed here): applied unless the loss or the
   * gradient norm is not finite. The one place the tfjs paths change the weights.
   */
  update({ loss, grads }: StepGradients): StepOutcome {
    try {
      const gradNorm = Optimizer.gradNorm(grads);
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) return { loss, gradNorm, lr: this.learningRate(), applied: false };
      return { loss, ...this.apply(grads, gradNorm), applied: true };
    } finally {
      tf.dispose(Object.values(grads));
    }
  }

  /**
   * Hands the moments to `holder`, which then updates them itself (counting each update with
   * `committed`): the returned tensors, by parameter, hold their current values and receive them
   * back in `returnMoments`. Null when `holder` already holds them.
   */
  lend(holder: MomentHolder): Map<string, { m: tf.Variable; v: tf.Variable }> | null {
    if (this.holder === holder) return null;
    this.reclaimMoments();
    this.holder = holder;
    return new Map([...this.params.keys()].map((name) => [name, { m: this.m.get(name)!, v: this.v.get(name)! }]));
  }

  /** Counts an update that the moments' holder applied. */
  committed(): void {
    this.step += 1;
  }

  /** Takes the moments back from their holder, whose values land in this optimizer's tensors. */
  reclaimMoments(): void {
    const holder = this.holder;
    this.holder = null;
    holder?.returnMoments();
  }

  /** Moment tensors named "m/<param>" and "v/<param>", for optimizer.safetensors. */
  exportState(): { tensors: Record<string, NamedArray>; meta: Record<string, string> } {
    this.reclaimMoments();
    const tensors: Record<string, NamedArray> = {};
    for (const [prefix, map] of [['m', this.m], ['v', this.v]] as const) {
      for (const [name, t] of map) {
        tensors[`${prefix}/${name}`] = { dtype: 'float32', shape: [...t.shape], data: Float32Array.from(t.dataSync()) };
      }
    }
    return { tensors, meta: { kind: this.config.kind, step: String(this.step), lrScale: String(this.lrScale) } };
  }

  importState(tensors: Record<string, NamedArray>, meta: Record<string, string>, source: string): void {
    if (meta.kind === 'none') {
      throw new CheckpointError('BAD_CHECKPOINT', `${source} has no optimizer state (an imported model), so training cannot resume from it; start a new run with its settings instead.`);
    }
    if (meta.kind !== this.config.kind) {
      throw new CheckpointError('BAD_CHECKPOINT', `${source}: optimizer state is for ${meta.kind}, this run uses ${this.config.kind}.`);
    }
    const step = Number(meta.step);
    const lrScale = Number(meta.lrScale ?? '1');
    if (!Number.isInteger(step) || step < 0 || !(lrScale > 0)) {
      throw new CheckpointError('BAD_CHECKPOINT', `${source}: optimizer step or lrScale is invalid.`);
    }
    // The holder's moments are replaced, so it must not write them back later.
    this.holder = null;
    for (const [prefix, map] of [['m', this.m], ['v', this.v]] as const) {
      for (const [name, t] of map) {
        const saved = tensors[`${prefix}/${name}`];
        if (!saved || saved.shape.join(',') !== t.shape.join(',')) {
          throw new CheckpointError('BAD_CHECKPOINT', `${source}: optimizer tensor ${prefix}/${name} is missing or has the wrong shape.`);
        }
        tf.tidy(() => t.assign(tf.tensor(saved.data as Float32Array, saved.shape)));
      }
    }
    this.step = step;
    this.lrScale = lrScale;
  }

  dispose(): void {
    this.holder = null;
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
