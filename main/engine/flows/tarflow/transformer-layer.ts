// One pre-norm Transformer layer of a TarFlow block: h + attention(LayerNorm(h)), then
// h + MLP(LayerNorm(h)) with a 4x expansion and the exact GELU, 0.5 u (1 + erf(u / sqrt 2)).
import * as tf from '../../tf.ts';
import type { Rng } from '../../random.ts';
import type { ParamScope } from '../params.ts';
import { CausalAttention, type KeyValueCache } from './causal-attention.ts';
import { Dense } from './dense.ts';
import { LayerNorm } from './layer-norm.ts';

/** The MLP's hidden width over the Transformer's, as the paper. */
const EXPANSION = 4;

function gelu(u: tf.Tensor3D): tf.Tensor3D {
  return tf.mul(tf.mul(u, 0.5), tf.add(tf.erf(tf.mul(u, Math.SQRT1_2)), 1)) as tf.Tensor3D;
}

export class TransformerLayer {
  private readonly norm1: LayerNorm;
  private readonly attention: CausalAttention;
  private readonly norm2: LayerNorm;
  private readonly mlp1: Dense;
  private readonly mlp2: Dense;

  constructor(scope: ParamScope, width: number, headDim: number, rng: Rng) {
    this.norm1 = new LayerNorm(scope.child('norm1'), width);
    this.attention = new CausalAttention(scope, width, headDim, rng);
    this.norm2 = new LayerNorm(scope.child('norm2'), width);
    this.mlp1 = new Dense(scope.child('mlp1'), width, EXPANSION * width, rng);
    this.mlp2 = new Dense(scope.child('mlp2'), EXPANSION * width, width, rng);
  }

  /** Every position of h [N, T, w], causally. */
  apply(h: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => this.mlp(tf.add(h, this.attention.apply(this.norm1.apply(h))) as tf.Tensor3D));
  }

  /** The one position h [N, 1, w] that follows those in `cache` (see CausalAttention.step). */
  step(h: tf.Tensor3D, cache: KeyValueCache | null): { out: tf.Tensor3D; cache: KeyValueCache } {
    return tf.tidy(() => {
      const attended = this.attention.step(this.norm1.apply(h), cache);
      return { out: this.mlp(tf.add(h, attended.out) as tf.Tensor3D), cache: attended.cache };
    });
  }

  private mlp(h: tf.Tensor3D): tf.Tensor3D {
    return tf.add(h, this.mlp2.apply(gelu(this.mlp1.apply(this.norm2.apply(h))))) as tf.Tensor3D;
  }
}
