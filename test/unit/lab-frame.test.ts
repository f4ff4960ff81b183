// Lab frames: the heatmap grid's orientation (top row first), its values against the model's
// known density, and samples pushed from fixed base points so consecutive frames agree.
import { describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { ParamStore } from '../../main/engine/flows/params.ts';
import { FRAME_BUDGET_MS, FrameMaker, gridPoints } from '../../main/engine/lab/lab-frame.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { gaussianModel } from '../helpers/lab-gaussian.ts';

describe('Lab frames', () => {
  it('grid points run left to right along the top row first', () => {
    const g = gridPoints([[0, 4], [0, 2]], 2);
    expect(Array.from(g)).toEqual([1, 1.5, 3, 1.5, 1, 0.5, 3, 0.5]);
  });

  it('the heatmap is the model density on the grid, and samples repeat from frame to frame', () => {
    const store = new ParamStore();
    const model = gaussianModel(store);
    store.variables.get('g.mu')!.assign(tf.tensor1d([1, -1]));
    const before = tf.memory().numTensors;
    const frames = new FrameMaker(model, [[-3, 3], [-3, 3]], 8, 50, 7);
    const a = frames.make(1);
    const b = frames.make(2);
    const pts = gridPoints([[-3, 3], [-3, 3]], 8);
    const expected = new Float64Array(64).map((_, i) => {
      const dx = pts[2 * i] - 1;
      const dy = pts[2 * i + 1] + 1;
      return -0.5 * (dx * dx + dy * dy) - Math.log(2 * Math.PI);
    });
    expectClose(a.density!.logq, expected, 1e-4);
    expect(a.samples.length).toBe(100);
    expect(Array.from(b.samples)).toEqual(Array.from(a.samples));
    frames.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('a frame over its budget makes the next ones coarser, with the first of the same points', () => {
    const store = new ParamStore();
    const model = gaussianModel(store);
    // A model whose density takes longer than a frame may: the frame maker sees only the time.
    const slow = Object.create(model, {
      logProb: {
        value: (...args: Parameters<typeof model.logProb>) => {
          const until = performance.now() + FRAME_BUDGET_MS + 20;
          while (performance.now() < until);
          return model.logProb(...args);
        },
      },
    }) as typeof model;
    const frames = new FrameMaker(slow, [[-3, 3], [-3, 3]], 32, 400, 7);
    const first = frames.make(1);
    const second = frames.make(2);
    expect([first.density!.res, first.samples.length / 2]).toEqual([32, 400]);
    expect([second.density!.res, second.samples.length / 2]).toEqual([24, 300]);
    expect(second.density!.logq.length).toBe(24 * 24);
    expectClose(second.samples, first.samples.slice(0, 600), 1e-6);
    frames.dispose();
    model.dispose();
  });
});
