// An exponential moving average of the weights (Polyak averaging, as openai/glow evaluates
// with), updated after every applied step and saved in checkpoints so a resumed run continues
// it exactly. Validation, sample grids, Explore and export use it by default: the last step's
// weights land on a noisy point, their average does not.
import * as tf from '../tf.ts';
import type { NamedArray } from '../checkpoint/safetensors.ts';
import { CheckpointError } from '../errors.ts';

/**
 * The warm start: update t (from 0) uses decay min(decay, (1 + t) / (WARM_START + t)), as
 * TensorFlow's ExponentialMovingAverage does with num_updates. The average then spans about the
 * last tenth of the steps taken until it reaches the set decay (after about 9,000 steps at
 * 0.999), so neither the initial weights nor those of a short run's first steps dominate it.
 */
const WARM_START = 10;

export class WeightAverage {
  /** Updates averaged so far (the warm start counts from it). */
  updates = 0;
  private readonly averages = new Map<string, tf.Variable>();

  /** Starts from the current values of `params` (nothing averaged yet). */
  constructor(
    readonly decay: number,
    private readonly params: ReadonlyMap<string, tf.Variable>,
  ) {
    for (const [name, p] of params) this.averages.set(name, tf.variable(p, false));
  }

  /** The decay the next update uses. */
  currentDecay(): number {
    return Math.min(this.decay, (1 + this.updates) / (WARM_START + this.updates));
  }

  /** Moves the average toward `weights` (the values after an applied step, by name). */
  update(weights: ReadonlyMap<string, tf.Tensor>): void {
    const d = this.currentDecay();
    tf.tidy(() => {
      for (const [name, avg] of this.averages) {
        const w = weights.get(name);
        if (!w) throw new Error(`weight average: no weight ${name} in the update`);
        // avg + (1 - d)(w - avg): the same as d avg + (1 - d) w, with one rounding fewer.
        avg.assign(tf.add(avg, tf.mul(tf.sub(w, avg), 1 - d)));
      }
    });
    this.updates += 1;
  }

  /** Forgets what was averaged and starts again from the current weights (a fresh run after ActNorm's initialisation). */
  restart(): void {
    tf.tidy(() => {
      for (const [name, avg] of this.averages) avg.assign(this.params.get(name)!);
    });
    this.updates = 0;
  }

  /**
   * Runs `work` with the model's weights set to the average, then puts the weights back. No
   * data is copied: a variable's assign shares the tensor, and every runtime notices a changed
   * variable (its data id) and re-reads it.
   */
  async swappedIn<T>(work: () => Promise<T>): Promise<T> {
    const saved = new Map([...this.params].map(([name, p]) => [name, tf.clone(p)]));
    try {
      for (const [name, p] of this.params) p.assign(this.averages.get(name)!);
      return await work();
    } finally {
      for (const [name, p] of this.params) p.assign(saved.get(name)!);
      tf.dispose([...saved.values()]);
    }
  }

  /** The averaged weights under their parameter names, and the count (`updates`) for ema.safetensors' metadata. */
  exportState(): { tensors: Record<string, NamedArray>; meta: Record<string, string> } {
    const tensors: Record<string, NamedArray> = {};
    for (const [name, t] of this.averages) tensors[name] = { dtype: 'float32', shape: [...t.shape], data: Float32Array.from(t.dataSync()) };
    return { tensors, meta: { updates: String(this.updates) } };
  }

  /** Continues an average saved by exportState; `source` names the file in errors. */
  importState(tensors: Record<string, NamedArray>, meta: Record<string, string>, source: string): void {
    const updates = Number(meta.updates);
    if (!Number.isSafeInteger(updates) || updates < 0) {
      throw new CheckpointError('BAD_CHECKPOINT', `${source}: metadata "updates" must be a whole number of at least 0.`);
    }
    for (const [name, avg] of this.averages) {
      const saved = tensors[name];
      if (!saved || saved.dtype !== 'float32' || saved.shape.join(',') !== avg.shape.join(',')) {
        throw new CheckpointError('BAD_CHECKPOINT', `${source}: averaged tensor ${name} is missing or has the wrong type or shape; delete the file to restart the average.`);
      }
    }
    tf.tidy(() => {
      for (const [name, avg] of this.averages) avg.assign(tf.tensor(tensors[name].data as Float32Array, tensors[name].shape));
    });
    this.updates = updates;
  }

  dispose(): void {
    for (const t of this.averages.values()) t.dispose();
  }
}
