// The multiscale architecture Glow and RealNVP share (Dinh et al. 2017, section 3.6): each
// level runs some layers, squeezes, runs more, then factors out half its channels as a latent.
import * as tf from '../tf.ts';
import { forwardAll, inverseAll, type FlowLayer } from '../flows/flow-layer.ts';
import { gaussianFromNoise, gaussianLogDensity } from '../flows/gaussian.ts';
import type { ParamStore } from '../flows/params.ts';
import type { Prior } from '../flows/priors.ts';
import { squeeze, unsqueeze } from '../flows/squeeze.ts';
import type { Rng } from '../random.ts';
import type { ResolvedModelConfig } from './config.ts';
import { drawNoise, type FlowModel, type FlowOutput, logProbByForward } from './flow-model.ts';

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

  constructor(
    readonly config: ResolvedModelConfig,
    readonly params: ParamStore,
    private readonly levels: Level[],
    /** Latent shape of each level, [H, W, C] without the batch. */
    readonly latentShapes: [number, number, number][],
  ) {}

  initialise(x: tf.Tensor4D): void {
    this.params.requestDataInit();
    tf.tidy(() => {
      this.logProb(x);
    });
    this.initialised = true;
  }

  logProb(x: tf.Tensor4D): tf.Tensor1D {
    return logProbByForward(this, x);
  }

  encode(x: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => this.forward(x).zs);
  }

  decode(zs: tf.Tensor4D[]): tf.Tensor4D {
    if (zs.length !== this.levels.length) {
      throw new Error(`decode needs ${this.levels.length} latents (one per level), got ${zs.length}`);
    }
    return this.invert((level) => zs[level]);
  }

  /** Drawn from the top level down, as decoding runs. */
  get noiseShapes(): [number, number, number][] {
    return [...this.latentShapes].reverse();
  }

  sample(n: number, temperature: number, rng: Rng): tf.Tensor4D {
    return this.sampleFromNoise(drawNoise(this, n, temperature, rng), n);
  }

  sampleFromNoise(noise: readonly (Float32Array | tf.Tensor4D)[], n: number): tf.Tensor4D {
    const top = this.levels.length - 1;
    return this.invert((level, prior, h, shape) => gaussianFromNoise(noise[top - level], [n, ...shape], prior.params(h)));
  }

  dispose(): void {
    this.params.dispose();
  }

  forward(x: tf.Tensor4D): FlowOutput {
    return tf.tidy(() => this.run(x));
  }

  private run(x: tf.Tensor4D): FlowOutput {
    let h = x;
    let logdet = tf.zeros([x.shape[0]]) as tf.Tensor1D;
    let logpz = tf.zeros([x.shape[0]]) as tf.Tensor1D;
    const zs: tf.Tensor4D[] = [];
    for (const level of this.levels) {
      [h, logdet] = forwardAll(level.pre, h, logdet);
      if (level.squeeze) h = squeeze(h);
      [h, logdet] = forwardAll(level.post, h, logdet);
      if (level.split) {
        const keep = h.shape[3] / 2;
        const kept = tf.slice(h, [0, 0, 0, 0], [-1, -1, -1, keep]) as tf.Tensor4D;
        const z = tf.slice(h, [0, 0, 0, keep], [-1, -1, -1, keep]) as tf.Tensor4D;
        logpz = tf.add(logpz, gaussianLogDensity(z, level.prior.params(kept))) as tf.Tensor1D;
        zs.push(z);
        h = kept;
      } else {
        logpz = tf.add(logpz, gaussianLogDensity(h, level.prior.params(null))) as tf.Tensor1D;
        zs.push(h);
      }
    }
    return { zs, logdet, logpz };
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
