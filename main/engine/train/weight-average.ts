// An exponential moving average of the weights (Polyak averaging, as openai/glow evaluates
// with), updated after every applied step and saved in checkpoints so a resumed run continues
// it exactly. Validation, sample grids, Explore and export use it by default: the last step's
// weights land on a noisy point, their average does not. The average is one vector in the
// model's parameter order, updated by one loop: as tensor ops, one update per variable cost a
// few hundred dispatches a step (8-15 ms against a 130-270 ms step on two cores at Glow K4 h128).
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

/** The values of `tensors` as one vector, in order (read back from the runtime's memory). */
export function flatValues(tensors: Iterable<tf.Tensor>): Float32Array {
  const list = [...tensors];
  const out = new Float32Array(list.reduce((sum, p) => sum + p.size, 0));
  let offset = 0;
  for (const p of list) {
    out.set(p.dataSync() as Float32Array, offset);
    offset += p.size;
  }
  return out;
}

export class WeightAverage {
  /** Updates averaged so far (the warm start counts from it). */
  updates = 0;
  /** The averaged weights, in the parameters' order. */
  private readonly average: Float32Array;
  /** Each parameter's part of `average`: its offset there. */
  private readonly offsets = new Map<string, number>();

  /** Starts from the current values of `params` (nothing averaged yet). */
  constructor(
    readonly decay: number,
    private readonly params: ReadonlyMap<string, tf.Variable>,
  ) {
    let offset = 0;
    for (const [name, p] of params) {
      this.offsets.set(name, offset);
      offset += p.size;
    }
    this.average = flatValues(params.values());
  }

  /** Parameter `name`'s averaged values (a view). */
  private part(name: string): Float32Array {
    const offset = this.offsets.get(name)!;
    return this.average.subarray(offset, offset + this.params.get(name)!.size);
  }

  /** The decay the next update uses. */
  currentDecay(): number {
    return Math.min(this.decay, (1 + this.updates) / (WARM_START + this.updates));
  }

  /** Moves the average toward `weights`: the values after an applied step, one vector in the parameters' order. */
  update(weights: Float32Array): void {
    const avg = this.average;
    if (weights.length !== avg.length) throw new Error(`weight average: ${weights.length} weights in the update, ${avg.length} averaged`);
    const k = 1 - this.currentDecay();
    // avg + (1 - d)(w - avg): the same as d avg + (1 - d) w, rounded to float32 once.
    for (let i = 0; i < avg.length; i++) avg[i] += (weights[i] - avg[i]) * k;
    this.updates += 1;
  }

  /** Forgets what was averaged and starts again from the current weights (a fresh run after ActNorm's initialisation). */
  restart(): void {
    this.average.set(flatValues(this.params.values()));
    this.updates = 0;
  }

  /**
   * Runs `work` with the model's weights set to the average, then puts the weights back. The
   * weights are not copied: a variable's assign shares the tensor, and every runtime notices a
   * changed variable (its data id) and re-reads it.
   */
  async swappedIn<T>(work: () => Promise<T>): Promise<T> {
    const saved = new Map([...this.params].map(([name, p]) => [name, tf.clone(p)]));
    try {
      tf.tidy(() => {
        for (const [name, p] of this.params) p.assign(tf.tensor(this.part(name), p.shape));
      });
      return await work();
    } finally {
      for (const [name, p] of this.params) p.assign(saved.get(name)!);
      tf.dispose([...saved.values()]);
    }
  }

  /** The averaged weights under their parameter names, and the count (`updates`) for ema.safetensors' metadata. */
  exportState(): { tensors: Record<string, NamedArray>; meta: Record<string, string> } {
    const tensors: Record<string, NamedArray> = {};
    for (const [name, p] of this.params) tensors[name] = { dtype: 'float32', shape: [...p.shape], data: this.part(name).slice() };
    return { tensors, meta: { updates: String(this.updates) } };
  }

  /** Continues an average saved by exportState; `source` names the file in errors. */
  importState(tensors: Record<string, NamedArray>, meta: Record<string, string>, source: string): void {
    const updates = Number(meta.updates);
    if (!Number.isSafeInteger(updates) || updates < 0) {
      throw new CheckpointError('BAD_CHECKPOINT', `${source}: metadata "updates" must be a whole number of at least 0.`);
    }
    for (const [name, p] of this.params) {
      const saved = tensors[name];
      if (!saved || saved.dtype !== 'float32' || saved.shape.join(',') !== p.shape.join(',')) {
        throw new CheckpointError('BAD_CHECKPOINT', `${source}: averaged tensor ${name} is missing or has the wrong type or shape; delete the file to restart the average.`);
      }
    }
    for (const name of this.params.keys()) this.part(name).set(tensors[name].data as Float32Array);
    this.updates = updates;
  }
}
