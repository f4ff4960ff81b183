// The Lab's still pictures, beside the live frames: a target's own density (the true one on a
// grid where it is known, else a histogram of 10,000 of its samples) with some of its points, and
// the flow itself: a grid of lines and base samples pushed through each layer (or each ODE time
// step, with the velocity field there) from the base towards the data.
import * as tf from '../tf.ts';
import { Rng } from '../random.ts';
import { KL_SAMPLES } from './kl.ts';
import { gridPoints, takeValues, type Box } from './lab-frame.ts';
import type { LabModel } from './lab-model.ts';
import { normalPoints } from './normal.ts';
import type { Target } from './targets/index.ts';

export interface TargetPicture {
  /** log p at the centres of a res×res grid over `box`, top row first (two-dimensional targets only); -Infinity where p is 0. */
  density: { box: Box; res: number; logp: Float64Array; from: 'truth' | 'histogram' } | null;
  /** Some of the target's points, row-major [n, dim] (none for an energy). */
  samples: Float32Array;
}

/** A histogram's log-density: log(count / (n · cell area)) per cell, top row first as gridPoints. */
function histogramLogDensity(points: Float32Array, box: Box, res: number): Float64Array {
  const [[x0, x1], [y0, y1]] = box;
  const counts = new Float64Array(res * res);
  const n = points.length / 2;
  for (let i = 0; i < n; i++) {
    const col = Math.floor(((points[2 * i] - x0) / (x1 - x0)) * res);
    const row = Math.floor(((y1 - points[2 * i + 1]) / (y1 - y0)) * res);
    if (col >= 0 && col < res && row >= 0 && row < res) counts[row * res + col]++;
  }
  const cellArea = ((x1 - x0) * (y1 - y0)) / (res * res);
  return counts.map((c) => Math.log(c / (n * cellArea)));
}

/** The target's picture at `res`², with `shown` of its points (the first rows of a table). */
export function targetPicture(target: Target, rng: Rng, res: number, shown: number): TargetPicture {
  const samples = target.sample ? target.sample(shown, rng) : target.table ? target.table.train.slice(0, shown * target.dim) : new Float32Array(0);
  if (target.dim !== 2) return { density: null, samples };
  const box: Box = [target.bounds[0], target.bounds[1]];
  if (target.logDensity) return { density: { box, res, logp: target.logDensity(gridPoints(box, res)), from: 'truth' }, samples };
  if (!target.sample) return { density: null, samples };
  return { density: { box, res, logp: histogramLogDensity(target.sample(KL_SAMPLES, rng), box, res), from: 'histogram' }, samples };
}

/** The base-space square the grid lines span: most of N(0, I)'s mass. */
const BASE_HALF = 3;

export interface FlowPicture {
  /** Where every stage fits: the base square and the middle 98% of the pushed samples, with a margin. */
  box: Box;
  /** Grid lines (half horizontal, then half vertical) of `linePoints` points each, then `samples` base samples, in every stage's points. */
  lines: number;
  linePoints: number;
  samples: number;
  stages: { /** ODE time (0 base, 1 data) for continuous families; null for layers. */ t: number | null; points: Float32Array; velocity: Float32Array | null }[];
  /** Continuous families: where the velocity arrows sit (a grid over `box`), row-major [n, 2]. */
  arrows: Float32Array | null;
}

function gridLines(perSide: number, linePoints: number): Float32Array {
  const out = new Float32Array(2 * perSide * linePoints * 2);
  let k = 0;
  for (const horizontal of [true, false]) {
    for (let l = 0; l < perSide; l++) {
      const fixed = -BASE_HALF + (2 * BASE_HALF * l) / (perSide - 1);
      for (let p = 0; p < linePoints; p++) {
        const moving = -BASE_HALF + (2 * BASE_HALF * p) / (linePoints - 1);
        out[k++] = horizontal ? moving : fixed;
        out[k++] = horizontal ? fixed : moving;
      }
    }
  }
  return out;
}

/** [lo, hi] holding [-BASE_HALF, BASE_HALF] and the 1st to 99th percentile of `values`, with a 10% margin. */
function spanOf(values: number[]): [number, number] {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const lo = Math.min(-BASE_HALF, sorted[Math.floor(sorted.length * 0.01)] ?? 0);
  const hi = Math.max(BASE_HALF, sorted[Math.floor(sorted.length * 0.99)] ?? 0);
  const margin = 0.1 * (hi - lo);
  return [lo - margin, hi + margin];
}

/** Pushes a grid and `samples` base points through a two-dimensional model, base to data, stage by stage. */
export function flowPicture(model: LabModel, seed: number, options: { perSide?: number; linePoints?: number; samples?: number; arrowsPerSide?: number } = {}): FlowPicture {
  const { perSide = 13, linePoints = 41, samples = 500, arrowsPerSide = 15 } = options;
  const ctx = { mode: 'eval' as const, rng: new Rng(seed) };
  const lines = gridLines(perSide, linePoints);
  const stageTensors = tf.tidy(() => {
    const base = normalPoints(samples, 2, new Rng(seed));
    return model.stages(tf.concat([tf.tensor2d(lines, [lines.length / 2, 2]), base]), 'to-data', ctx);
  });
  const points = stageTensors.map((t) => t.dataSync() as Float32Array);
  tf.dispose(stageTensors);
  const last = points.at(-1)!.subarray(lines.length);
  const box: Box = [spanOf(Array.from(last.filter((_, i) => i % 2 === 0))), spanOf(Array.from(last.filter((_, i) => i % 2 === 1)))];
  const continuous = model.velocity !== undefined;
  const arrows = continuous ? gridPoints(box, arrowsPerSide) : null;
  const stages = points.map((p, k) => {
    const t = continuous ? k / (points.length - 1) : null;
    const velocity = arrows && t !== null ? takeValues(tf.tidy(() => model.velocity!(tf.tensor2d(arrows, [arrows.length / 2, 2]), t))) : null;
    return { t, points: p, velocity };
  });
  return { box, lines: 2 * perSide, linePoints, samples, stages, arrows };
}
