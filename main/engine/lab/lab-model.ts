// What the Lab trains: a density q on R^D with a standard normal base, whatever the family. The
// trainer, the evaluator, the flow picture and persistence see only this; families build it
// (a stack of VectorLayers, or a continuous flow) in lab-flows.ts.
import type * as tf from '../tf.ts';
import type { ParamStore } from '../flows/params.ts';
import type { Rng } from '../random.ts';
import type { LabFlowName } from '../../../common/lab/lab-catalog.ts';
import type { LabSettings } from '../../../common/lab/lab-fields.ts';
import type { LayerContext } from './vector-layer.ts';

/** A type, not an interface, so tf.tidy accepts it as a tensor container. */
export type LabSample = {
  readonly x: tf.Tensor2D;
  /** log q(x) in nats, differentiable with respect to the weights (reverse KL trains on it). */
  readonly logProb: tf.Tensor1D;
};

export interface LabModel {
  readonly flow: LabFlowName;
  readonly dim: number;
  readonly settings: LabSettings;
  /** Every weight under its safetensors name. */
  readonly params: ParamStore;
  /** log q(x) for each row, in nats. */
  logProb(x: tf.Tensor2D, ctx: LayerContext): tf.Tensor1D;
  /** `n` points from q with their log q; `base` gives the base points to push (tests, the flow picture), else they are drawn from ctx.rng. */
  sample(n: number, ctx: LayerContext, base?: tf.Tensor2D): LabSample;
  /**
   * The loss to minimise on a batch of data: -mean log q(x) for maximum-likelihood families;
   * flow matching's regression loss for flow matching. Reverse KL is the trainer's, from `sample`.
   */
  dataLoss(x: tf.Tensor2D, ctx: LayerContext): tf.Scalar;
  /**
   * The flow picture: `points` after each stage (layer, or ODE time step), first entry the input.
   * 'to-base' runs the density direction, 'to-data' the sampling direction.
   */
  stages(points: tf.Tensor2D, direction: 'to-base' | 'to-data', ctx: LayerContext): tf.Tensor2D[];
  /** Continuous families: the velocity field at time t in [0, 1] (t = 0 base, t = 1 data), for arrows. */
  velocity?(x: tf.Tensor2D, t: number): tf.Tensor2D;
  /** Projects the weights back onto the family's constraints after each optimizer step. */
  constrain(): void;
  dispose(): void;
}

/** Builds a fresh model of one family with seeded weights. */
export type LabModelBuilder = (settings: LabSettings, dim: number, rng: Rng) => LabModel;
