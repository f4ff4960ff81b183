// TarFlow (Zhai et al. 2024, "Normalizing Flows are Capable Generative Models"): the image as a
// sequence of patches through `depth` causal-Transformer flow blocks, the patch order reversed
// between blocks, into a standard normal. With `noise` > 0 samples end with one denoising step.
// With classes, every block adds a class embedding; sampling takes classifier-free guidance.
import * as tf from '../tf.ts';
import { repeatedClass } from '../data/one-hot.ts';
import { gaussianLogDensity } from '../flows/gaussian.ts';
import { Guidance } from '../flows/guidance.ts';
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
    const { size, channels, patch, depth, hidden, attnLayers, headDim, classes } = config;
    const shape = { tokens: (size / patch) ** 2, values: patch * patch * channels, width: hidden, layers: attnLayers, headDim, classes };
    for (let b = 0; b < depth; b++) this.blocks.push(new FlowBlock(this.params.scope(`block${b}`), shape, b % 2 === 1, rng));
  }

  /** One latent, z unpatchified to the image's shape; `c` changes every block's transform (not the prior). */
  forward(x: tf.Tensor4D, c?: tf.Tensor2D): FlowOutput {
    return tf.tidy(() => {
      let h = patchify(x, this.config.patch);
      let logdet = tf.zeros([x.shape[0]]) as tf.Tensor1D;
      for (const block of this.blocks) {
        const out = block.forward(h, c);
        h = out.z;
        logdet = tf.add(logdet, out.logdet) as tf.Tensor1D;
      }
      const z = this.image(h);
      return { zs: [z], logdet, logpz: gaussianLogDensity(z, null) };
    });
  }

  encode(x: tf.Tensor4D, c?: tf.Tensor2D): tf.Tensor4D[] {
    return tf.tidy(() => this.forward(x, c).zs);
  }

  /** Inverse of encode; `guidance` w mixes each block's unconditional and conditional predictions (flows/guidance.ts). */
  decode(zs: tf.Tensor4D[], c?: tf.Tensor2D, guidance = 1): tf.Tensor4D {
    return this.inverse(zs, true, c, guidance);
  }

  /** decode, with the blocks' inverses cached (each position once) or not (each prefix rerun). */
  inverse(zs: tf.Tensor4D[], cached: boolean, c?: tf.Tensor2D, guidance = 1): tf.Tensor4D {
    if (zs.length !== 1) throw new Error(`decode needs TarFlow's one latent, got ${zs.length}`);
    return tf.tidy(() => {
      let h = patchify(zs[0], this.config.patch);
      for (let b = this.blocks.length - 1; b >= 0; b--) h = this.blocks[b].inverse(h, cached, c, guidance);
      return this.image(h);
    });
  }

  /**
   * Decoded noise; with noise augmentation sigma, then x + sigma^2 times the score, the gradient of
   * log p(x) + w (log p(x|c) - log p(x)) (Tweedie's denoising step, as the paper, guided as the decoding).
   */
  override sampleFromNoise(noise: readonly (Float32Array | tf.Tensor4D)[], n: number, c?: tf.Tensor2D, guidance = 1): tf.Tensor4D {
    const sigma = this.config.noise;
    return tf.tidy(() => {
      const x = super.sampleFromNoise(noise, n, c, guidance);
      if (sigma === 0) return x;
      const guidedLogProb = (input: tf.Tensor4D) => {
        const guided = new Guidance(c, guidance);
        return guided.output(this.logProb(guided.input(input), guided.classes));
      };
      const score = tf.grad((input) => tf.sum(guidedLogProb(input as tf.Tensor4D)))(x);
      return tf.add(x, tf.mul(score, sigma * sigma)) as tf.Tensor4D;
    });
  }

  /** log p(x | y) for every class y, [n, K]: one forward pass per class (the class changes every block). */
  classLogProbs(x: tf.Tensor4D): tf.Tensor2D {
    const { classes } = this.config;
    if (classes === 0) throw new Error('classLogProbs needs a class-conditional model (config.classes > 0)');
    return tf.tidy(() => {
      const n = x.shape[0];
      const perClass = Array.from({ length: classes }, (_, y) => this.logProb(x, tf.tensor2d(repeatedClass(y, n, classes), [n, classes])));
      return tf.stack(perClass, 1) as tf.Tensor2D;
    });
  }

  private image(seq: tf.Tensor3D): tf.Tensor4D {
    return unpatchify(seq, this.config.patch, this.config.size, this.config.channels);
  }
}
