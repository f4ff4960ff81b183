// The contract every invertible layer follows: forward adds its per-example log|det J| to a
// running total; inverse undoes forward exactly. Tensors are NHWC float32. `features`: the
// observation's features at the layer's resolution (a restoration-trained flow's); layers other than couplings ignore them.
import type * as tf from '../tf.ts';

export interface FlowLayer {
  /** x -> y, with logdet + log|det dy/dx| for each example. */
  forward(x: tf.Tensor4D, logdet: tf.Tensor1D, features?: tf.Tensor4D): [tf.Tensor4D, tf.Tensor1D];
  /** y -> x, the exact inverse of forward (given the same features). */
  inverse(y: tf.Tensor4D, features?: tf.Tensor4D): tf.Tensor4D;
}

/** Runs layers in order. */
export function forwardAll(
  layers: readonly FlowLayer[],
  x: tf.Tensor4D,
  logdet: tf.Tensor1D,
  features?: tf.Tensor4D,
): [tf.Tensor4D, tf.Tensor1D] {
  let h = x;
  let ld = logdet;
  for (const layer of layers) [h, ld] = layer.forward(h, ld, features);
  return [h, ld];
}

/** Undoes layers in reverse order. */
export function inverseAll(layers: readonly FlowLayer[], y: tf.Tensor4D, features?: tf.Tensor4D): tf.Tensor4D {
  let h = y;
  for (let i = layers.length - 1; i >= 0; i--) h = layers[i].inverse(h, features);
  return h;
}
