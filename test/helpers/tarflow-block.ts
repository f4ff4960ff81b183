// TarFlow's log-density in plain tfjs ops, after the shared architecture (apple/ml-tarflow's
// transformer_flow.py): the tracer's tests and timings run it while the model is written apart.
import * as tf from '../../main/engine/tf.ts';
import { denseBias } from '../../main/engine/ops/conv2d.ts';
import { Rng } from '../../main/engine/random.ts';
import type { Inputs } from './onnx-both-ways.ts';

export interface TarflowShape {
  /** Patches per image, T. */
  tokens: number;
  /** Values per patch, D. */
  patchDim: number;
  width: number;
  headDim: number;
  layers: number;
  blocks: number;
}

/**
 * Seeded weights by their spec names. Every one is away from its initial value (the output
 * layer is not zero, LayerNorm gains not one), so that every gradient is exercised.
 */
export function tarflowWeights(s: TarflowShape, seed = 1): Inputs {
  const rng = new Rng(seed);
  const w = s.width;
  const out: Inputs = {};
  const add = (name: string, shape: number[], std: number, mean = 0) => {
    const data = rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)), std).map((v) => v + mean);
    out[name] = [data, shape];
  };
  for (let b = 0; b < s.blocks; b++) {
    add(`block${b}.in.w`, [s.patchDim, w], 0.3);
    add(`block${b}.in.b`, [w], 0.1);
    add(`block${b}.pos`, [s.tokens, w], 0.1);
    for (let l = 0; l < s.layers; l++) {
      const layer = `block${b}.layer${l}`;
      for (const norm of ['norm1', 'norm2']) {
        add(`${layer}.${norm}.g`, [w], 0.1, 1);
        add(`${layer}.${norm}.b`, [w], 0.1);
      }
      add(`${layer}.qkv.w`, [w, 3 * w], 0.3);
      add(`${layer}.qkv.b`, [3 * w], 0.1);
      add(`${layer}.proj.w`, [w, w], 0.2);
      add(`${layer}.proj.b`, [w], 0.1);
      add(`${layer}.mlp1.w`, [w, 4 * w], 0.2);
      add(`${layer}.mlp1.b`, [4 * w], 0.1);
      add(`${layer}.mlp2.w`, [4 * w, w], 0.1);
      add(`${layer}.mlp2.b`, [w], 0.1);
    }
    add(`block${b}.out.w`, [w, 2 * s.patchDim], 0.05);
    add(`block${b}.out.b`, [2 * s.patchDim], 0.05);
  }
  return out;
}

/** x [N, T, in] times `name`.w plus `name`.b, over the last axis. */
function linear(x: tf.Tensor, weights: Record<string, tf.Tensor>, name: string): tf.Tensor {
  const w = weights[`${name}.w`] as tf.Tensor2D;
  const rows = tf.reshape(x, [-1, w.shape[0]]) as tf.Tensor2D;
  return tf.reshape(denseBias(rows, w, weights[`${name}.b`] as tf.Tensor1D), [...x.shape.slice(0, -1), w.shape[1]]);
}

function layerNorm(h: tf.Tensor, weights: Record<string, tf.Tensor>, name: string): tf.Tensor {
  const centred = tf.sub(h, tf.mean(h, -1, true));
  const variance = tf.mean(tf.square(centred), -1, true);
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, 1e-5))), weights[`${name}.g`]), weights[`${name}.b`]);
}

/** [N, T, w] -> [N, heads, T, headDim]. */
function byHead(x: tf.Tensor, headDim: number): tf.Tensor {
  const [n, t, w] = x.shape;
  return tf.transpose(tf.reshape(x, [n, t, w / headDim, headDim]), [0, 2, 1, 3]);
}

function attention(a: tf.Tensor, weights: Record<string, tf.Tensor>, layer: string, s: TarflowShape): tf.Tensor {
  const [n, t, w] = a.shape;
  const [q, k, v] = tf.split(linear(a, weights, `${layer}.qkv`), 3, -1).map((part) => byHead(part, s.headDim));
  const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(s.headDim));
  // Position i attends to positions j <= i.
  const causal = tf.cast(tf.linalg.bandPart(tf.ones([t, t]), -1, 0), 'bool');
  const probs = tf.softmax(tf.where(causal, scores, tf.scalar(-1e9)));
  const o = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [n, t, w]);
  return linear(o, weights, `${layer}.proj`);
}

/** The exact GELU, 0.5 u (1 + erf(u / sqrt 2)). */
function gelu(u: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(u, 0.5), tf.add(1, tf.erf(tf.mul(u, Math.SQRT1_2))));
}

/** Block `b` on x [N, T, D] in model order: z in model order and log|det| per example. */
function block(x: tf.Tensor, weights: Record<string, tf.Tensor>, b: number, s: TarflowShape): { z: tf.Tensor; logDet: tf.Tensor } {
  const reversed = b % 2 === 1;
  const xs = reversed ? tf.reverse(x, 1) : x;
  let h = tf.add(linear(xs, weights, `block${b}.in`), weights[`block${b}.pos`]);
  for (let l = 0; l < s.layers; l++) {
    const layer = `block${b}.layer${l}`;
    h = tf.add(h, attention(layerNorm(h, weights, `${layer}.norm1`), weights, layer, s));
    h = tf.add(h, linear(gelu(linear(layerNorm(h, weights, `${layer}.norm2`), weights, `${layer}.mlp1`)), weights, `${layer}.mlp2`));
  }
  const out = linear(h, weights, `block${b}.out`);
  // One position later along T, zeros at position 0.
  const shifted = tf.pad(tf.slice(out, [0, 0, 0], [-1, s.tokens - 1, -1]), [
    [0, 0],
    [1, 0],
    [0, 0],
  ]);
  const [alpha, mu] = tf.split(shifted, 2, -1);
  const z = tf.mul(tf.sub(xs, mu), tf.exp(tf.neg(alpha)));
  return { z: reversed ? tf.reverse(z, 1) : z, logDet: tf.neg(tf.sum(alpha, [1, 2])) };
}

/** log p(x) per example (nats) of x [N, T, D] under a standard normal prior, and the final z. */
export function tarflowLogP(x: tf.Tensor, weights: Record<string, tf.Tensor>, s: TarflowShape): { z: tf.Tensor; logP: tf.Tensor } {
  let z = x;
  let logDet: tf.Tensor = tf.zeros([x.shape[0]]);
  for (let b = 0; b < s.blocks; b++) {
    const step = block(z, weights, b, s);
    z = step.z;
    logDet = tf.add(logDet, step.logDet);
  }
  const prior = tf.sub(tf.mul(tf.sum(tf.square(z), [1, 2]), -0.5), (0.5 * Math.log(2 * Math.PI) * s.tokens * s.patchDim));
  return { z, logP: tf.add(prior, logDet) };
}
