// Adam and Adamax with linear learning-rate warmup and global gradient-norm clipping. Their
// moment estimates are plain named tensors so a checkpoint saves them and resume is exact.
import * as tf from '../tf.ts';
import { checkSettings } from '../../../common/settings/check.ts';
import { pickFields } from '../../../common/settings/field.ts';
import { trainFields, type TrainSettings } from '../../../common/settings/train-fields.ts';
import type { NamedArray } from '../checkpoint/safetensors.ts';
import { CheckpointError } from '../errors.ts';
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

export class Optimizer {
  /** Updates applied so far (bias correction and warmup count from it). */
  step = 0;
  /** Multiplies the configured learning rate (lowered after repeated non-finite steps). */
  lrScale = 1;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

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

  /** Global L2 norm of the gradients (one number, read back once per step). */
  static gradNorm(grads: Record<string, tf.Tensor>): number {
    return tf.tidy(() => {
      const squares = Object.values(grads).map((g) => tf.sum(tf.square(g)));
      return Math.sqrt(tf.addN(squares).dataSync()[0]);
    });
  }

  /** Applies one update; `gradNorm` must be finite (the caller skips non-finite steps). */
  apply(grads: Record<string, tf.Tensor>, gradNorm: number): StepReport {
    const { beta1, beta2, epsilon, clipNorm, kind } = this.config;
    this.step += 1;
    const t = this.step;
    const lr = this.learningRate(t);
    const clip = gradNorm > clipNorm ? clipNorm / gradNorm : 1;
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g0 = grads[name];
        if (!g0) continue;
        const g = clip === 1 ? g0 : tf.mul(g0, clip);
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const mNew = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        m.assign(mNew);
        if (kind === 'adam') {
          const vNew = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
          v.assign(vNew);
          const stepSize = (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
          p.assign(tf.sub(p, tf.mul(tf.div(mNew, tf.add(tf.sqrt(vNew), epsilon)), stepSize)));
        } else {
          const uNew = tf.maximum(tf.mul(v, beta2), tf.abs(g));
          v.assign(uNew);
          const stepSize = lr / (1 - beta1 ** t);
          p.assign(tf.sub(p, tf.mul(tf.div(mNew, tf.add(uNew, epsilon)), stepSize)));
        }
      }
    });
    return { gradNorm, lr };
  }

  /** Moment tensors named "m/<param>" and "v/<param>", for optimizer.safetensors. */
  exportState(): { tensors: Record<string, NamedArray>; meta: Record<string, string> } {
    const tensors: Record<string, NamedArray> = {};
    for (const [prefix, map] of [['m', this.m], ['v', this.v]] as const) {
      for (const [name, t] of map) {
        tensors[`${prefix}/${name}`] = { dtype: 'float32', shape: [...t.shape], data: Float32Array.from(t.dataSync()) };
      }
    }
    return { tensors, meta: { kind: this.config.kind, step: String(this.step), lrScale: String(this.lrScale) } };
  }

  importState(tensors: Record<string, NamedArray>, meta: Record<string, string>, source: string): void {
    if (meta.kind !== this.config.kind) {
      throw new CheckpointError('BAD_CHECKPOINT', `${source}: optimizer state is for ${meta.kind}, this run uses ${this.config.kind}.`);
    }
    const step = Number(meta.step);
    const lrScale = Number(meta.lrScale ?? '1');
    if (!Number.isInteger(step) || step < 0 || !(lrScale > 0)) {
      throw new CheckpointError('BAD_CHECKPOINT', `${source}: optimizer step or lrScale is invalid.`);
    }
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
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
