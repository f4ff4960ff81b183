// The moving average of the weights on its own: a hand-computed case with the warm start, the
// decay capped at the setting, a saved average that continues exactly, the weights swapped in
// and back, and a damaged saved average refused with the file's name.
import { describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { flatValues, WeightAverage } from '../../main/engine/train/weight-average.ts';

function params(values: Record<string, number[]>): Map<string, tf.Variable> {
  return new Map(Object.entries(values).map(([name, v]) => [name, tf.variable(tf.tensor1d(v), true)]));
}

function set(p: Map<string, tf.Variable>, values: Record<string, number[]>): void {
  for (const [name, v] of Object.entries(values)) p.get(name)!.assign(tf.tensor1d(v));
}

const valuesOf = (t: tf.Tensor) => Array.from(t.dataSync());

describe('WeightAverage', () => {
  it('matches a hand-computed average: decay min(0.999, (1 + t) / (10 + t)) at update t', () => {
    const p = params({ a: [1, 2], b: [-4] });
    const avg = new WeightAverage(0.999, p);
    set(p, { a: [3, 4], b: [6] });
    avg.update(flatValues(p.values())); // t = 0: decay 0.1, so 0.1 * start + 0.9 * new
    let state = avg.exportState();
    expect(Array.from(state.tensors.a.data)).toEqual([1 * 0.1 + 3 * 0.9, 2 * 0.1 + 4 * 0.9].map(Math.fround));
    expect(state.tensors.b.data[0]).toBeCloseTo(-4 * 0.1 + 6 * 0.9, 6);
    set(p, { a: [5, 0], b: [6] });
    avg.update(flatValues(p.values())); // t = 1: decay 2/11
    state = avg.exportState();
    expect(state.tensors.a.data[0]).toBeCloseTo((2 / 11) * 2.8 + (9 / 11) * 5, 5);
    expect(state.tensors.a.data[1]).toBeCloseTo((2 / 11) * 3.8 + (9 / 11) * 0, 5);
    expect(state.meta).toEqual({ updates: '2' });
  });

  it('reaches the set decay and stays there', () => {
    const avg = new WeightAverage(0.5, params({ a: [0] }));
    const decays = [];
    for (let t = 0; t < 12; t++) {
      decays.push(avg.currentDecay());
      avg.updates += 1;
    }
    expect(decays.slice(0, 3)).toEqual([1 / 10, 2 / 11, 3 / 12]);
    expect(decays.slice(8)).toEqual([0.5, 0.5, 0.5, 0.5]); // (1 + 8) / (10 + 8) = 0.5
    expect(new WeightAverage(0.999, params({ a: [0] })).currentDecay()).toBe(0.1);
  });

  it('continues exactly from a saved state', () => {
    const p = params({ a: [0.3, -1.7, 2.2] });
    const straight = new WeightAverage(0.99, p);
    const steps = Array.from({ length: 30 }, (_, i) => [Math.sin(i), Math.cos(i * 1.3), i / 7]);
    for (const w of steps.slice(0, 17)) {
      set(p, { a: w });
      straight.update(flatValues(p.values()));
    }
    const saved = straight.exportState();
    const resumed = new WeightAverage(0.99, p);
    resumed.importState(saved.tensors, saved.meta, 'ema.safetensors');
    for (const w of steps.slice(17)) {
      set(p, { a: w });
      straight.update(flatValues(p.values()));
      resumed.update(flatValues(p.values()));
    }
    expect(resumed.updates).toBe(30);
    expect(Array.from(resumed.exportState().tensors.a.data)).toEqual(Array.from(straight.exportState().tensors.a.data));
  });

  it('swaps the average in for the work and the weights back after it, even when the work fails', async () => {
    const p = params({ a: [1, 1] });
    const avg = new WeightAverage(0.999, p);
    set(p, { a: [11, 21] });
    avg.update(flatValues(p.values()));
    const seen = await avg.swappedIn(async () => valuesOf(p.get('a')!));
    expect(seen).toEqual([Math.fround(10), Math.fround(19)]);
    expect(valuesOf(p.get('a')!)).toEqual([11, 21]);
    await expect(avg.swappedIn(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(valuesOf(p.get('a')!)).toEqual([11, 21]);
    // The average is unchanged by what the model did with it.
    expect(Array.from(avg.exportState().tensors.a.data)).toEqual([Math.fround(10), Math.fround(19)]);
  });

  it('restarts from the current weights', () => {
    const p = params({ a: [1] });
    const avg = new WeightAverage(0.999, p);
    avg.update(flatValues(p.values()));
    set(p, { a: [7] });
    avg.restart();
    expect(avg.updates).toBe(0);
    expect(Array.from(avg.exportState().tensors.a.data)).toEqual([7]);
  });

  it('refuses a saved average that does not fit, naming the file', () => {
    const avg = new WeightAverage(0.999, params({ a: [1, 2] }));
    const good = avg.exportState();
    expect(() => avg.importState({ a: { dtype: 'float32', shape: [3], data: new Float32Array(3) } }, good.meta, '/run/ema.safetensors')).toThrow(
      /\/run\/ema\.safetensors: averaged tensor a is missing or has the wrong type or shape/,
    );
    expect(() => avg.importState(good.tensors, { updates: '-1' }, '/run/ema.safetensors')).toThrow(/\/run\/ema\.safetensors: metadata "updates"/);
    expect(() => avg.importState(good.tensors, {}, '/run/ema.safetensors')).toThrow(/metadata "updates"/);
  });

  it('refuses an update with another number of weights', () => {
    const avg = new WeightAverage(0.999, params({ a: [1, 2], b: [3] }));
    expect(() => avg.update(new Float32Array(2))).toThrow(/2 weights in the update, 3 averaged/);
  });
});
