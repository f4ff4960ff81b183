// TarFlow (Zhai et al. 2024, "Normalizing Flows are Capable Generative Models"): the image as a
// sequence of patches through `depth` causal-Transformer flow blocks, the patch order reversed
// between blocks, into a standard normal. With `noise` > 0 samples end with one denoising step.
import * as tf from '../tf.ts';
import { gaussianLogDensity } from '../flows/gaussian.ts';
import { FlowBlock } from '../flows/tarflow/flow-block.ts';
import { patchify, unpatchify } from '../flows/tarflow/patches.ts';
import { Rng } from '../random.ts';
import type { ResolvedTarFlowConfig } from './config.ts';
import type { FlowOutput } from './flow-model.ts';
import { ImageLatentModel } from './image-latent-model.ts';

export class TarFlow extends ImageLatentModel {
  private readonly blocks: FlowBlock[] = [];

  constructor(readonly config: ResolvedTarFlowConfig, seed: number) {
    super();
    const rng = new Rng(seed);
    const { size, channels, patch, depth, hidden, attnLayers, headDim } = config;
    const shape = { tokens: (size / patch) ** 2, values: patch * patch * channels, width: hidden, layers: attnLayers, headDim };
    for (let b = 0; b < depth; b++) this.blocks.push(new FlowBlock(this.params.scope(`block${b}`), shape, b % 2 === 1, rng));
  }

  /** One latent, z unpatchified to the image's shape. */
  forward(x: tf.Tensor4D): FlowOutput {
    return tf.tidy(() => {
      let h = patchify(x, this.config.patch);
      let logdet = tf.zeros([x.shape[0]]) as tf.Tensor1D;
      for (const block of this.blocks) {
        const out = block.forward(h);
        h = out.z;
        logdet = tf.add(logdet, out.logdet) as tf.Tensor1D;
      }
      const z = this.image(h);
      return { zs: [z], logdet, logpz: gaussianLogDensity(z, null) };
    });
  }

  encode(x: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => this.forward(x).zs);
  }

  decode(zs: tf.Tensor4D[]): tf.Tensor4D {
    return this.inverse(zs, true);
  }

  /** decode, with the blocks' inverses cached (each position once) or not (each prefix rerun). */
  inverse(zs: tf.Tensor4D[], cached: boolean): tf.Tensor4D {
    if (zs.length !== 1) throw new Error(`decode needs TarFlow's one latent, got ${zs.length}`);
    return tf.tidy(() => {
      let h = patchify(zs[0], this.config.patch);
      for (let b = this.blocks.length - 1; b >= 0; b--) h = this.blocks[b].inverse(h, cached);
      return this.image(h);
    });
  }

  /** Decoded noise; with noise augmentation sigma, then x + sigma^2 grad log p(x) (Tweedie's denoising step, as the paper). */
  override sampleFromNoise(noise: readonly (Float32Array | tf.Tensor4D)[], n: number): tf.Tensor4D {
    const sigma = this.config.noise;
    return tf.tidy(() => {
      const x = super.sampleFromNoise(noise, n);
      if (sigma === 0) return x;
      const score = tf.grad((input) => tf.sum(this.logProb(input as tf.Tensor4D)))(x);
      return tf.add(x, tf.mul(score, sigma * sigma)) as tf.Tensor4D;
    });
  }

  private image(seq: tf.Tensor3D): tf.Tensor4D {
    return unpatchify(seq, this.config.patch, this.config.size, this.config.channels);
  }
}
