// What the Lab view redraws while a model trains: the model's log-density on a grid over the
// target's box (two-dimensional models) and points drawn from it, pushed from the same base
// points every frame so the cloud moves instead of flickering.
import * as tf from '../tf.ts';
import { Rng } from '../random.ts';
import { LAB_FLOWS, type LabFlowName } from '../../../common/lab/lab-catalog.ts';
import type { LabModel } from './lab-model.ts';
import { normalPoints } from './normal.ts';

/** Points drawn from the model in each live frame. */
export const FRAME_SAMPLES = 500;

/**
 * A live frame's size for a family: heatmap cells per side, finest for families whose density is
 * one closed-form pass, coarser for numerical inverses and residual blocks, coarsest for ODEs (each
 * point is a solve with exact traces).
 */
export function liveFrameSize(flow: LabFlowName): { res: number; samples: number } {
  const { density } = LAB_FLOWS[flow];
  return { res: density === 'ode' ? 16 : density === 'numerical' || flow === 'residual' ? 24 : 32, samples: FRAME_SAMPLES };
}

/** [[xmin, xmax], [ymin, ymax]]: the box heatmaps cover. */
export type Box = readonly [readonly [number, number], readonly [number, number]];

export interface LabFrame {
  step: number;
  /** log q at the centres of a res×res grid over `box`, row-major from the top row (largest y) down; 2-D models only. */
  density: { box: Box; res: number; logq: Float32Array } | null;
  /** The model's dimension. */
  dim: number;
  /** Points drawn from q, row-major [n, dim]. */
  samples: Float32Array;
  /** Milliseconds this frame took to compute (the view shows the refresh rate it allows). */
  ms: number;
}

/** The centres of a res×res grid over `box`, top row first: the heatmap's pixels. */
export function gridPoints(box: Box, res: number): Float32Array {
  const [[x0, x1], [y0, y1]] = box;
  const out = new Float32Array(res * res * 2);
  for (let row = 0; row < res; row++) {
    for (let col = 0; col < res; col++) {
      const i = (row * res + col) * 2;
      out[i] = x0 + ((col + 0.5) / res) * (x1 - x0);
      out[i + 1] = y1 - ((row + 0.5) / res) * (y1 - y0);
    }
  }
  return out;
}

/** A small tensor's values, read at once (frames are made between steps, so blocking is fine), and the tensor freed. */
export function takeValues(t: tf.Tensor): Float32Array {
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values;
}

/**
 * A frame should cost at most this much: with a step of up to ~190 ms (the spline families' at
 * their defaults here), that keeps frames 250 ms apart.
 */
export const FRAME_BUDGET_MS = 60;
/** The coarsest a frame gets: heatmap cells per side, points drawn. */
const MIN_RES = 12;
const MIN_SAMPLES = 150;

/**
 * Makes live frames. One that costs more than FRAME_BUDGET_MS makes the next ones coarser (a
 * quarter fewer cells per side and points, down to MIN_RES and MIN_SAMPLES): the picture keeps up
 * with training rather than holding it back. Points are always the first of the same base points.
 */
export class FrameMaker {
  private readonly base: tf.Tensor2D;
  private grid: tf.Tensor2D | null = null;
  private res: number;
  private samples: number;

  constructor(
    private readonly model: LabModel,
    private readonly box: Box,
    res: number,
    samples: number,
    seed: number,
  ) {
    this.base = normalPoints(samples, model.dim, new Rng(seed));
    this.res = res;
    this.samples = samples;
    this.makeGrid();
  }

  private makeGrid(): void {
    this.grid?.dispose();
    this.grid = this.model.dim === 2 ? tf.tensor2d(gridPoints(this.box, this.res), [this.res * this.res, 2]) : null;
  }

  make(step: number): LabFrame {
    const started = performance.now();
    // Evaluation mode: exact log-determinants and traces; the probes' rng is unused there.
    const ctx = { mode: 'eval' as const, rng: new Rng(0) };
    const logq = this.grid ? takeValues(this.model.logProb(this.grid, ctx)) : null;
    const samples = takeValues(tf.tidy(() => this.model.sample(this.samples, ctx, this.base.slice(0, this.samples)).x));
    const frame = {
      step,
      dim: this.model.dim,
      density: logq ? { box: this.box, res: this.res, logq } : null,
      samples,
      ms: performance.now() - started,
    };
    if (frame.ms > FRAME_BUDGET_MS) this.coarsen();
    return frame;
  }

  private coarsen(): void {
    const res = Math.min(this.res, Math.max(MIN_RES, Math.floor(this.res * 0.75)));
    this.samples = Math.min(this.samples, Math.max(MIN_SAMPLES, Math.floor(this.samples * 0.75)));
    if (res !== this.res) {
      this.res = res;
      this.makeGrid();
    }
  }

  dispose(): void {
    this.base.dispose();
    this.grid?.dispose();
  }
}
