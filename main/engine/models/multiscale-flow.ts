// The multiscale architecture Glow and RealNVP share (Dinh et al. 2017, section 3.6): each
// level runs some layers, squeezes, runs more, then factors out half its channels as a latent.
import * as tf from '../tf.ts';
import type { ClassConditioning } from '../flows/class-conditioning.ts';
import { forwardAll, inverseAll, type FlowLayer } from '../flows/flow-layer.ts';
import { gaussianFromNoise, gaussianLogDensity, type GaussianParams } from '../flows/gaussian.ts';
import type { ParamStore } from '../flows/params.ts';
import type { Prior } from '../flows/priors.ts';
import { squeeze, unsqueeze } from '../flows/squeeze.ts';
import type { Rng } from '../random.ts';
import type { ResolvedModelConfig } from './config.ts';
import { drawNoise, type ClassLabels, type FlowModel, type FlowOutput, logProbByForward } from './flow-model.ts';

export interface Level {
  /** Layers before the squeeze (RealNVP's checkerboard couplings). */
  pre: FlowLayer[];
  squeeze: boolean;
  /** Layers after the squeeze. */
  post: FlowLayer[];
  /** Prior of the channels factored out at the end of the level; the top level has its own. */
  prior: Prior;
  /** Whether this level factors out half its channels (all but the last). */
  split: boolean;
}

/** Chooses the latent of a level when decoding: given, or drawn from the level's prior. */
type LatentSource = (level: number, prior: Prior, h: tf.Tensor4D | null, shape: number[]) => tf.Tensor4D;

export class MultiscaleFlow implements FlowModel {
  initialised = false;
  classLabels: ClassLabels | null = null;

  constructor(
    readonly config: ResolvedModelConfig,
    readonly params: ParamStore,
    private readonly levels: Level[],
    /** Latent shape of each level, [H, W, C] without the batch. */
    readonly latentShapes: [number, number, number][],
    /** The class embedding of the top prior and the class head; null for an unconditional model. */
    private readonly conditioning: ClassConditioning | null = null,
  ) {}

  initialise(x: tf.Tensor4D): void {
    this.params.requestDataInit();
    tf.tidy(() => {
      this.logProb(x);
    });
    this.initialised = true;
  }

  logProb(x: tf.Tensor4D, c?: tf.Tensor2D): tf.Tensor1D {
    return logProbByForward(this, x, c);
  }

  /** The latents do not depend on the class: only the top prior sees it. */
  encode(x: tf.Tensor4D, _c?: tf.Tensor2D): tf.Tensor4D[] {
    return tf.tidy(() => this.forward(x).zs);
  }

  /** Given latents the image does not depend on the class: only the top prior sees it. */
  decode(zs: tf.Tensor4D[], _c?: tf.Tensor2D): tf.Tensor4D {
    if (zs.length !== this.levels.length) {
      throw new Error(`decode needs ${this.levels.length} latents (one per level), got ${zs.length}`);
    }
    return this.invert((level) => zs[level]);
  }

  /** Drawn from the top level down, as decoding runs. */
  get noiseShapes(): [number, number, number][] {
    return [...this.latentShapes].reverse();
  }

  sample(n: number, temperature: number, rng: Rng, c?: tf.Tensor2D): tf.Tensor4D {
    return this.sampleFromNoise(drawNoise(this, n, temperature, rng), n, c);
  }

  sampleFromNoise(noise: readonly (Float32Array | tf.Tensor4D)[], n: number, c?: tf.Tensor2D): tf.Tensor4D {
    const top = this.levels.length - 1;
    return this.invert((level, prior, h, shape) => gaussianFromNoise(noise[top - level], [n, ...shape], this.priorParams(level, prior, h, c)));
  }

  /**
   * The standard-normal noise that `sampleFromNoise(noise, n, c)` maps to x (temperature 1), in
   * noise order: each level's latent standardised by its prior. Decoding it under another class
   * changes the class and keeps the rest ("change the class").
   */
  noiseOf(x: tf.Tensor4D, c?: tf.Tensor2D): tf.Tensor4D[] {
    return tf.tidy(() => {
      const { zs, priors } = this.run(x, c);
      const noise = zs.map((z, level) => {
        const p = priors[level];
        return p ? (tf.mul(tf.sub(z, p.mean), tf.exp(tf.neg(p.logs))) as tf.Tensor4D) : z;
      });
      return noise.reverse();
    });
  }

  /** Class logits [n, K] of a conditional model from its latents (the top one); null without classes. */
  classLogits(zs: readonly tf.Tensor4D[]): tf.Tensor2D | null {
    return this.conditioning ? this.conditioning.logits(zs[zs.length - 1]) : null;
  }

  /** log p(x | y) for every class y, [n, K], from one forward pass: only the top latent's density changes with y. */
  classLogProbs(x: tf.Tensor4D): tf.Tensor2D {
    const conditioning = this.conditioning;
    if (!conditioning) throw new Error('classLogProbs needs a class-conditional model (config.classes > 0)');
    return tf.tidy(() => {
      const { zs, logdet, logpz, priors } = this.run(x);
      const n = x.shape[0];
      const top = zs[zs.length - 1];
      const base = priors[priors.length - 1];
      // log|det| and every level's density but the top's, which each class replaces.
      const rest = tf.sub(tf.add(logdet, logpz), gaussianLogDensity(top, base));
      const perClass = Array.from({ length: conditioning.classes }, (_, y) => {
        const c = tf.cast(tf.oneHot(tf.fill([n], y, 'int32') as tf.Tensor1D, conditioning.classes), 'float32') as tf.Tensor2D;
        return tf.add(rest, gaussianLogDensity(top, conditioning.prior(base, c)));
      });
      return tf.stack(perClass, 1) as tf.Tensor2D;
    });
  }

  /** A level's prior; the top one shifted by the class embedding when there are classes. */
  private priorParams(level: number, prior: Prior, h: tf.Tensor4D | null, c: tf.Tensor2D | undefined): GaussianParams | null {
    const base = prior.params(h);
    const top = level === this.levels.length - 1;
    return top && this.conditioning && c ? this.conditioning.prior(base, c) : base;
  }

  dispose(): void {
    this.params.dispose();
  }

  forward(x: tf.Tensor4D, c?: tf.Tensor2D): FlowOutput {
    return tf.tidy(() => {
      const { zs, logdet, logpz } = this.run(x, c);
      return { zs, logdet, logpz };
    });
  }

  /** The forward pass, with the prior each level's latent was scored under. */
  private run(x: tf.Tensor4D, c?: tf.Tensor2D): FlowOutput & { priors: (GaussianParams | null)[] } {
    let h = x;
    let logdet = tf.zeros([x.shape[0]]) as tf.Tensor1D;
    let logpz = tf.zeros([x.shape[0]]) as tf.Tensor1D;
    const zs: tf.Tensor4D[] = [];
    const priors: (GaussianParams | null)[] = [];
    for (const level of this.levels) {
      [h, logdet] = forwardAll(level.pre, h, logdet);
      if (level.squeeze) h = squeeze(h);
      [h, logdet] = forwardAll(level.post, h, logdet);
      if (level.split) {
        const keep = h.shape[3] / 2;
        const kept = tf.slice(h, [0, 0, 0, 0], [-1, -1, -1, keep]) as tf.Tensor4D;
        const z = tf.slice(h, [0, 0, 0, keep], [-1, -1, -1, keep]) as tf.Tensor4D;
        const prior = this.priorParams(zs.length, level.prior, kept, c);
        logpz = tf.add(logpz, gaussianLogDensity(z, prior)) as tf.Tensor1D;
        priors.push(prior);
        zs.push(z);
        h = kept;
      } else {
        const prior = this.priorParams(zs.length, level.prior, null, c);
        logpz = tf.add(logpz, gaussianLogDensity(h, prior)) as tf.Tensor1D;
        priors.push(prior);
        zs.push(h);
      }
    }
    return { zs, logdet, logpz, priors };
  }

  private invert(latent: LatentSource): tf.Tensor4D {
    return tf.tidy(() => {
      const top = this.levels.length - 1;
      let h: tf.Tensor4D | null = null;
      for (let i = top; i >= 0; i--) {
        const level = this.levels[i];
        const z = latent(i, level.prior, level.split ? h : null, this.latentShapes[i]);
        h = level.split ? (tf.concat([h!, z], 3) as tf.Tensor4D) : z;
        h = inverseAll(level.post, h);
        if (level.squeeze) h = unsqueeze(h);
        h = inverseAll(level.pre, h);
      }
      return h!;
    });
  }
}
