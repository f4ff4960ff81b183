// The elementwise monotone maps that couplings and autoregressive layers apply to each coordinate,
// with parameters a conditioner network produced: affine, additive and the splines share this
// contract, so "spline coupling" is a coupling with a spline, not a class of its own.
import type * as tf from '../tf.ts';
import type { LayerOutput } from './vector-layer.ts';

export interface ElementwiseTransform {
  /** Numbers the conditioner must give for each transformed coordinate. */
  readonly paramsPerDim: number;
  /** y = τ(x; θ) for x [n, d] and θ [n, d, paramsPerDim]; logDet sums log|τ'| over the d coordinates. */
  forward(x: tf.Tensor2D, params: tf.Tensor3D): LayerOutput;
  /** x = τ⁻¹(y; θ), and its log|det|. */
  inverse(y: tf.Tensor2D, params: tf.Tensor3D): LayerOutput;
}
