// The contract of every Lab layer (points in 2 to 64 dimensions, rows of a [n, D] tensor):
// forward maps data towards the base, inverse maps the base towards data, each with its log|det|.
import type * as tf from '../tf.ts';
import type { Rng } from '../random.ts';

export interface LayerContext {
  /**
   * 'train': stochastic estimators may stand in for exact values (Hutchinson traces, Russian
   * roulette); 'eval': exact wherever the dimension allows (densities, heatmaps, KL to truth).
   */
  readonly mode: 'train' | 'eval';
  /** Seeded source of the estimators' probes and coin flips; it advances. */
  readonly rng: Rng;
}

/** A type, not an interface, so tf.tidy accepts it as a tensor container. */
export type LayerOutput = {
  readonly out: tf.Tensor2D;
  /** log|det ∂out/∂in| for each row. */
  readonly logDet: tf.Tensor1D;
};

export interface VectorLayer {
  /** Data side to base side. Families without a closed form solve numerically (see LAB_FLOWS[..].density). */
  forward(x: tf.Tensor2D, ctx: LayerContext): LayerOutput;
  /** Base side to data side: forward's inverse. */
  inverse(z: tf.Tensor2D, ctx: LayerContext): LayerOutput;
  /** After each optimizer step, puts the weights back inside the layer's constraints (planar's û, radial's β, spectral norms). */
  constrain?(): void;
}
