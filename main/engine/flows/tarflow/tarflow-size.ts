// How large a TarFlow of a given config is: its weights, its forward multiply-adds and the
// activations one image keeps for backprop. model.json's parameter bound and the trainer's
// micro-batch and thread choices read these.
import type { ResolvedTarFlowConfig } from '../../models/config.ts';

/** The sizes one block works with. */
function dims(c: ResolvedTarFlowConfig): { t: number; d: number; w: number; heads: number } {
  return { t: (c.size / c.patch) ** 2, d: c.patch * c.patch * c.channels, w: c.hidden, heads: c.hidden / c.headDim };
}

/**
 * The weight matrices and position embeddings (biases and LayerNorms only add): per block
 * in [D, w], pos [T, w], out [w, 2D], and per layer qkv 3w^2, proj w^2 and the MLP 8w^2.
 */
export function tarflowMatrixWeights(c: ResolvedTarFlowConfig): number {
  const { t, d, w } = dims(c);
  return c.depth * (d * w + t * w + 2 * w * d + c.attnLayers * 12 * w * w);
}

/**
 * Multiply-adds of one image's forward pass, counted: the dense layers use each weight once per
 * patch, and attention's scores and mixing take T^2 w each per layer (the mask saves none).
 */
export function tarflowForwardMacs(c: ResolvedTarFlowConfig): number {
  const { t, d, w } = dims(c);
  return c.depth * (t * 3 * d * w + c.attnLayers * (t * 12 * w * w + 2 * t * t * w));
}

/**
 * Bytes one image keeps for backprop: per block 93 T w + 4.2 T^2 heads per layer and 30 T D
 * floats, fitted (within 4%) to the bytes held at the end of the forward pass under tfjs's
 * gradient tape on the cpu backend, over five configurations (T 16 to 256, w 64 and 128).
 */
export function tarflowBytesPerImage(c: ResolvedTarFlowConfig): number {
  const { t, d, w, heads } = dims(c);
  return 4 * c.depth * (c.attnLayers * (93 * t * w + 4.2 * t * t * heads) + 30 * t * d);
}
