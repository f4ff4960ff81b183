// One TarFlow block (Zhai et al. 2024): in its own order of the patches (reversed for odd
// blocks), a causal Transformer gives each patch an affine map from the patches before it:
// z_i = (x_i - mu_i) exp(-alpha_i), with (alpha_0, mu_0) = 0. Inverting runs patch by patch.
// A conditional block adds a class embedding to every position's input (ml-tarflow's class_embed).
import * as tf from '../../tf.ts';
import { Guidance } from '../guidance.ts';
import type { Rng } from '../../random.ts';
import { gaussianWeights } from '../init.ts';
import type { ParamScope } from '../params.ts';
import type { KeyValueCache } from './causal-attention.ts';
import { Dense } from './dense.ts';
import { TransformerLayer } from './transformer-layer.ts';

/** The paper's position embeddings start N(0, 0.01^2). */
const POSITION_STD = 0.01;

export interface FlowBlockShape {
  /** Patches T. */
  tokens: number;
  /** Values per patch D. */
  values: number;
  /** Transformer width w. */
  width: number;
  layers: number;
  headDim: number;
  /** Classes K of a conditional model; 0 or absent: none. */
  classes?: number;
}

export class FlowBlock {
  private readonly input: Dense;
  private readonly pos: tf.Variable;
  /** [K, w], one row per class, added at every position; null for an unconditional model. */
  private readonly classEmbedding: tf.Variable | null;
  private readonly layers: TransformerLayer[] = [];
  private readonly output: Dense;

  constructor(scope: ParamScope, private readonly shape: FlowBlockShape, private readonly reversed: boolean, rng: Rng) {
    const { tokens, values, width, layers, headDim, classes } = shape;
    this.input = new Dense(scope.child('in'), values, width, rng);
    this.pos = scope.variable('pos', gaussianWeights([tokens, width], POSITION_STD, rng));
    // Zero rows (ml-tarflow draws N(0, 0.01^2)): an untrained conditional block is the unconditional
    // one, and draws nothing from `rng`, so the other weights are those of classes 0.
    this.classEmbedding = classes ? scope.variable('class', tf.zeros([classes, width])) : null;
    for (let l = 0; l < layers; l++) this.layers.push(new TransformerLayer(scope.child(`layer${l}`), width, headDim, rng));
    // Zero weights and bias: every block starts as the identity.
    this.output = new Dense(scope.child('out'), width, 2 * values, null);
  }

  /**
   * x [N, T, D] in the model's order -> z in the model's order, and log|det dz/dx| per example;
   * `c` [N, K] the one-hot classes (an all-zero row or none: no class).
   */
  forward(x: tf.Tensor3D, c?: tf.Tensor2D): { z: tf.Tensor3D; logdet: tf.Tensor1D } {
    return tf.tidy(() => {
      const xs = this.ordered(x);
      const [n, t, d] = xs.shape;
      // Position i's transform comes from the network's output at i - 1: patch 0 passes unchanged.
      const before = tf.slice(this.network(xs, this.classShift(c)), [0, 0, 0], [n, t - 1, 2 * d]);
      const shifted = tf.pad(before, [[0, 0], [1, 0], [0, 0]]);
      const [alpha, mu] = tf.split(shifted, 2, 2);
      const z = tf.mul(tf.sub(xs, mu), tf.exp(tf.neg(alpha))) as tf.Tensor3D;
      return { z: this.ordered(z), logdet: tf.neg(tf.sum(alpha, [1, 2])) as tf.Tensor1D };
    });
  }

  /**
   * The inverse, patch by patch: patch i + 1 needs the network's output at i, which depends only
   * on patches <= i. Cached: each layer keeps the keys and values of the patches done and runs one
   * new position per patch; uncached: the network reruns on the whole prefix (the same images).
   * `c` and `guidance`: each position's alpha and mu are the guided ones, u + w (u_c - u) (ml-tarflow's
   * guidance on both, its g being w - 1), the unconditional and conditional passes in one doubled batch.
   */
  inverse(z: tf.Tensor3D, cached = true, c?: tf.Tensor2D, guidance = 1): tf.Tensor3D {
    return tf.tidy(() => {
      const zs = this.ordered(z);
      const [n, t, d] = zs.shape;
      const guided = new Guidance(c, guidance);
      const shift = this.classShift(guided.classes);
      const patch = (i: number) => tf.slice(zs, [0, i, 0], [n, 1, d]) as tf.Tensor3D;
      const rows = [patch(0)];
      let caches: KeyValueCache[] | null = null;
      for (let i = 0; i < t - 1; i++) {
        let raw: tf.Tensor3D;
        if (cached) {
          const step = tf.tidy(() => this.networkStep(guided.input(rows[i]), i, caches, shift));
          if (caches) tf.dispose(caches.flatMap((kv) => [kv.keys, kv.values]));
          ({ out: raw, caches } = step);
        } else {
          raw = tf.tidy(() => {
            const prefix = guided.input(tf.concat(rows, 1) as tf.Tensor3D);
            return tf.slice(this.network(prefix, shift), [0, i, 0], [prefix.shape[0], 1, 2 * d]) as tf.Tensor3D;
          });
        }
        const out = tf.tidy(() => guided.output(raw));
        if (out !== raw) raw.dispose();
        rows.push(
          tf.tidy(() => {
            const [alpha, mu] = tf.split(out, 2, 2);
            return tf.add(tf.mul(patch(i + 1), tf.exp(alpha)), mu) as tf.Tensor3D;
          }),
        );
        out.dispose();
      }
      return this.ordered(tf.concat(rows, 1) as tf.Tensor3D);
    });
  }

  /** The model's order to the block's and back: a reversal along T for odd blocks. */
  private ordered(x: tf.Tensor3D): tf.Tensor3D {
    return this.reversed ? tf.reverse(x, 1) : x;
  }

  /** The class embedding of each row of `c`, [N, 1, w] (null without classes): the same at every position. */
  private classShift(c: tf.Tensor2D | undefined): tf.Tensor3D | null {
    if (!c || !this.classEmbedding) return null;
    return tf.reshape(tf.matMul(c, this.classEmbedding), [c.shape[0], 1, this.shape.width]);
  }

  /** The input embedding of positions `pos` of x: x Win + bin + pos, plus the class embedding `shift`. */
  private embedded(x: tf.Tensor3D, pos: tf.Tensor, shift: tf.Tensor3D | null): tf.Tensor3D {
    const h = tf.add(this.input.apply(x), pos) as tf.Tensor3D;
    return shift ? (tf.add(h, shift) as tf.Tensor3D) : h;
  }

  /** The network on the first t positions x [N, t, D] (block order): [N, t, 2D], log-scale then shift. */
  private network(x: tf.Tensor3D, shift: tf.Tensor3D | null): tf.Tensor3D {
    return tf.tidy(() => {
      const t = x.shape[1];
      const pos = t === this.shape.tokens ? this.pos : tf.slice(this.pos, [0, 0], [t, this.shape.width]);
      let h = this.embedded(x, pos, shift);
      for (const layer of this.layers) h = layer.apply(h);
      return this.output.apply(h);
    });
  }

  /** The network at position i alone, x [N, 1, D], from the layers' caches of positions < i (null: i = 0). */
  private networkStep(x: tf.Tensor3D, i: number, caches: KeyValueCache[] | null, shift: tf.Tensor3D | null): { out: tf.Tensor3D; caches: KeyValueCache[] } {
    return tf.tidy(() => {
      let h = this.embedded(x, tf.slice(this.pos, [i, 0], [1, this.shape.width]), shift);
      const grown = this.layers.map((layer, l) => {
        const step = layer.step(h, caches ? caches[l] : null);
        h = step.out;
        return step.cache;
      });
      return { out: this.output.apply(h), caches: grown };
    });
  }
}
