// The multiscale architecture Glow and RealNVP share (Dinh et al. 2017, section 3.6): each
// level runs some layers, squeezes, runs more, then factors out half its channels as a latent.
// Trained for restoration (issue 17, way 2), every coupling also sees features of an observation y:
// training and evaluation make y from x and its degradation values (the model's scoring noise).
import * as tf from '../tf.ts';
import type { ClassConditioning } from '../flows/class-conditioning.ts';
import { forwardAll, inverseAll, type FlowLayer } from '../flows/flow-layer.ts';
import { gaussianFromNoise, gaussianLogDensity, type GaussianParams } from '../flows/gaussian.ts';
import type { ParamStore } from '../flows/params.ts';
import type { Prior } from '../flows/priors.ts';
import { squeeze, unsqueeze } from '../flows/squeeze.ts';
import type { Rng } from '../random.ts';
import type { ResolvedModelConfig } from './config.ts';
import { degradationNoise, degradedObservation } from '../restore/observation.ts';
import { drawNoise, type ClassLabels, type FlowModel, type FlowOutput, logProbByForward, type TrainingNoise } from './flow-model.ts';
import type { ObservationConditioning } from './restore-conditional.ts';

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

/** Which of the observation's feature maps (0: full size, r: 1 / 2^r of the side) a level's layers see before and after its squeeze. */
interface LevelResolution {
  pre: number;
  post: number;
}

export class MultiscaleFlow implements FlowModel {
  initialised = false;
  classLabels: ClassLabels | null = null;
  /** A restoration model's degradation values per image (restore/observation.ts); absent otherwise. */
  readonly scoringNoise?: readonly TrainingNoise[];
  /** False for a restoration model (FlowModel.encodeTraces); absent otherwise. */
  readonly encodeTraces?: boolean;
  private readonly resolutions: LevelResolution[];

  constructor(
    readonly config: ResolvedModelConfig,
    readonly params: ParamStore,
    private readonly levels: Level[],
    /** Latent shape of each level, [H, W, C] without the batch. */
    readonly latentShapes: [number, number, number][],
    /** The class embedding of the top prior and the class head; null for an unconditional model. */
    private readonly conditioning: ClassConditioning | null = null,
    /** The observation's encoder of a restoration-trained model; null otherwise. */
    private readonly observation: ObservationConditioning | null = null,
  ) {
    let r = 0;
    this.resolutions = levels.map((level) => {
      const pre = r;
      if (level.squeeze) r++;
      return { pre, post: r };
    });
    if (observation) {
      this.scoringNoise = degradationNoise(observation.task, config.size, config.channels);
      this.encodeTraces = false;
    }
  }

  initialise(x: tf.Tensor4D, noise?: readonly tf.Tensor2D[]): void {
    this.params.requestDataInit();
    tf.tidy(() => {
      this.logProb(x, undefined, noise);
    });
    this.initialised = true;
  }

  /** `noise`: a restoration model's degradation values of x; without them it conditions on the empty observation. */
  logProb(x: tf.Tensor4D, c?: tf.Tensor2D, noise?: readonly tf.Tensor2D[]): tf.Tensor1D {
    return logProbByForward(this, x, c, noise);
  }

  /** Features of the observation at each resolution for a restoration model; null otherwise. */
  private features(y: tf.Tensor4D): tf.Tensor4D[] | null {
    return this.observation ? this.observation.encoder.features(y) : null;
  }

  /** The empty observation's features for n images (nothing observed: zeros), or null. */
  private emptyFeatures(n: number): tf.Tensor4D[] | null {
    if (!this.observation) return null;
    const { size, channels } = this.config;
    return this.features(degradedObservation(this.observation.task, tf.zeros([n, size, size, channels]) as tf.Tensor4D));
  }

  /** The latents do not depend on the class: only the top prior sees it. */
  encode(x: tf.Tensor4D, _c?: tf.Tensor2D): tf.Tensor4D[] {
    return tf.tidy(() => this.forward(x).zs);
  }

  /** Given latents the image does not depend on the class: only the top prior sees it. A restoration model decodes under the empty observation. */
  decode(zs: tf.Tensor4D[], _c?: tf.Tensor2D): tf.Tensor4D {
    if (zs.length !== this.levels.length) {
      throw new Error(`decode needs ${this.levels.length} latents (one per level), got ${zs.length}`);
    }
    return tf.tidy(() => this.invert((level) => zs[level], this.emptyFeatures(zs[0].shape[0])));
  }

  /** Drawn from the top level down, as decoding runs. */
  get noiseShapes(): [number, number, number][] {
    return [...this.latentShapes].reverse();
  }

  sample(n: number, temperature: number, rng: Rng, c?: tf.Tensor2D): tf.Tensor4D {
    return this.sampleFromNoise(drawNoise(this, n, temperature, rng), n, c);
  }

  sampleFromNoise(noise: readonly (Float32Array | tf.Tensor4D)[], n: number, c?: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => this.sampleWith(noise, n, c, this.emptyFeatures(n)));
  }

  /**
   * A restoration model's samples of p(x | y): `noise` as sampleFromNoise's (temperature applied),
   * `y` the observation of each of the n images (restore/observation.ts), [n, H, W, C'].
   */
  sampleGiven(noise: readonly (Float32Array | tf.Tensor4D)[], n: number, y: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.sampleWith(noise, n, undefined, this.observedFeatures(y)));
  }

  /** A restoration model's forward pass given the observation y [n, H, W, C'] of each image: log p(x | y)'s parts. */
  forwardGiven(x: tf.Tensor4D, y: tf.Tensor4D): FlowOutput {
    return tf.tidy(() => {
      const { zs, logdet, logpz } = this.run(x, undefined, this.observedFeatures(y));
      return { zs, logdet, logpz };
    });
  }

  /** A restoration model's inverse of forwardGiven: the images of latents `zs` given the observation y. */
  decodeGiven(zs: tf.Tensor4D[], y: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.invert((level) => zs[level], this.observedFeatures(y)));
  }

  /** Features of a given observation; refused for a model not trained for restoration. */
  private observedFeatures(y: tf.Tensor4D): tf.Tensor4D[] {
    const features = this.features(y);
    if (!features) throw new Error('conditioning on an observation needs a model trained for restoration (restoreTask other than none)');
    return features;
  }

  private sampleWith(noise: readonly (Float32Array | tf.Tensor4D)[], n: number, c: tf.Tensor2D | undefined, features: tf.Tensor4D[] | null): tf.Tensor4D {
    const top = this.levels.length - 1;
    return this.invert((level, prior, h, shape) => gaussianFromNoise(noise[top - level], [n, ...shape], this.priorParams(level, prior, h, c)), features);
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

  /** `noise`: a restoration model's degradation values of x (its scoringNoise); without them, the empty observation. */
  forward(x: tf.Tensor4D, c?: tf.Tensor2D, noise?: readonly tf.Tensor2D[]): FlowOutput {
    return tf.tidy(() => {
      const features = this.observation ? this.features(degradedObservation(this.observation.task, x, noise?.[0])) : null;
      const { zs, logdet, logpz } = this.run(x, c, features);
      return { zs, logdet, logpz };
    });
  }

  /** The forward pass, with the prior each level's latent was scored under; `features` those of a restoration model's observation. */
  private run(x: tf.Tensor4D, c?: tf.Tensor2D, features: tf.Tensor4D[] | null = this.emptyFeatures(x.shape[0])): FlowOutput & { priors: (GaussianParams | null)[] } {
    let h = x;
    let logdet = tf.zeros([x.shape[0]]) as tf.Tensor1D;
    let logpz = tf.zeros([x.shape[0]]) as tf.Tensor1D;
    const zs: tf.Tensor4D[] = [];
    const priors: (GaussianParams | null)[] = [];
    for (const [i, level] of this.levels.entries()) {
      const at = this.resolutions[i];
      [h, logdet] = forwardAll(level.pre, h, logdet, features?.[at.pre]);
      if (level.squeeze) h = squeeze(h);
      [h, logdet] = forwardAll(level.post, h, logdet, features?.[at.post]);
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

  private invert(latent: LatentSource, features: tf.Tensor4D[] | null): tf.Tensor4D {
    return tf.tidy(() => {
      const top = this.levels.length - 1;
      let h: tf.Tensor4D | null = null;
      for (let i = top; i >= 0; i--) {
        const level = this.levels[i];
        const z = latent(i, level.prior, level.split ? h : null, this.latentShapes[i]);
        h = level.split ? (tf.concat([h!, z], 3) as tf.Tensor4D) : z;
        const at = this.resolutions[i];
        h = inverseAll(level.post, h, features?.[at.post]);
        if (level.squeeze) h = unsqueeze(h);
        h = inverseAll(level.pre, h, features?.[at.pre]);
      }
      return h!;
    });
  }
}
