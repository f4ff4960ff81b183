// Flow matching (Lipman et al. 2023) as an image model: a U-Net velocity field regressed on the
// conditional optimal-transport path, then sampled, encoded, decoded and scored through its ODE
// with the Lab's solvers. The Lab's convention: t = 0 is the noise, t = 1 the image. With classes
// the field takes a class embedding, and sampling classifier-free guidance.
import { trainingLossOf } from '../../../common/training-loss.ts';
import * as tf from '../tf.ts';
import { Guidance } from '../flows/guidance.ts';
import { FIXED_STEP_TABLEAUX } from '../lab/ode/fixed-step.ts';
import type { OdeOptions } from '../lab/ode/solve-ode.ts';
import { rademacher } from '../lab/trace.ts';
import { Rng } from '../random.ts';
import type { ResolvedFlowMatchingConfig } from './config.ts';
import type { FlowOutput, TrainingNoise, TrainingObjective } from './flow-model.ts';
import { ImageLatentModel } from './image-latent-model.ts';
import { odeLikelihood, transport, type ImageVelocity } from './ode-likelihood.ts';
import { UNetVelocity } from './unet-velocity.ts';

/** Images in [-1/2, 1/2] are doubled into the field's space [-1, 1], where noise has unit scale; log p gains D log 2. */
const DATA_SCALE = 2;
/**
 * Seed of the Hutchinson probes where a caller gives none (the evaluator always does, per image:
 * `scoringNoise`); with the solver and its steps fixed too, a batch gets the same estimate each time.
 */
const PROBE_SEED = 1;
/**
 * Network evaluations (times probes) up to which sampling, encoding and scoring trace into one
 * onnxruntime graph: RK4 with 4 steps, the default. Such a graph holds every evaluation's
 * activations (measured at that default, U-Net h64: 17 GB resident for a 64-image graph, 2.5 GB for
 * 8 images), so longer solves run on tfjs.
 */
const MAX_TRACED_EVALUATIONS = 16;

export class FlowMatching extends ImageLatentModel {
  /** Adaptive steps are read back, so only short fixed-step solves trace (MAX_TRACED_EVALUATIONS). */
  readonly inferenceTraces: boolean;
  /** A traced solve holds all its evaluations: scoring 64 images in runs of 4 peaked at 1.6 GB resident here. */
  readonly inferenceBatch = 4;
  readonly objective: TrainingObjective;
  /** `probes` Rademacher vectors per image, the Hutchinson probes of its log p(x). */
  readonly scoringNoise: readonly TrainingNoise[];
  private readonly field: UNetVelocity;
  private readonly dim: number;
  /** v(y, t) in the field's space (images times DATA_SCALE), every image at time t, without a class. */
  readonly velocity: ImageVelocity = this.velocityGiven();

  constructor(readonly config: ResolvedFlowMatchingConfig, seed: number) {
    super();
    this.field = new UNetVelocity(this.params.scope('velocity'), config, new Rng(seed));
    this.dim = config.size * config.size * config.channels;
    this.scoringNoise = [{ values: config.probes * this.dim, distribution: 'rademacher' }];
    const { solver, odeSteps, probes } = config;
    this.inferenceTraces = solver !== 'dopri5' && FIXED_STEP_TABLEAUX[solver].c.length * odeSteps * probes <= MAX_TRACED_EVALUATIONS;
    this.objective = {
      kind: trainingLossOf('flow-matching'),
      // x0 ~ N(0, I) of the image's shape, and t ~ U(0, 1), per image.
      noise: [{ values: this.dim, distribution: 'normal' }, { values: 1, distribution: 'uniform' }],
      loss: (x, [x0, t], c) => this.regressionLoss(x, x0, t, c),
    };
  }

  /**
   * The base point and log p(x) = log N(z) + logdet, logdet = -∫₀¹ div v dt + D log 2 estimated
   * with `probes` Hutchinson probes per image (the batch solved once per probe, then averaged):
   * `noise[0]`'s [n, probes * D], or seeded ones. `c`: the field's class (none: its unconditional branch).
   */
  forward(x: tf.Tensor4D, c?: tf.Tensor2D, noise?: readonly tf.Tensor2D[]): FlowOutput {
    return tf.tidy(() => {
      const n = x.shape[0];
      const k = this.config.probes;
      const y = tf.mul(x, DATA_SCALE) as tf.Tensor4D;
      const rows = k > 1 ? (tf.tile(y, [k, 1, 1, 1]) as tf.Tensor4D) : y;
      // Row j * n + i of the tiled batch is image i's j-th probe.
      const probes = noise
        ? (tf.reshape(tf.transpose(tf.reshape(noise[0], [n, k, this.dim]), [1, 0, 2]), [k * n, this.dim]) as tf.Tensor2D)
        : rademacher(k * n, this.dim, new Rng(PROBE_SEED));
      const classes = c && k > 1 ? (tf.tile(c, [k, 1]) as tf.Tensor2D) : c;
      const { z, logpz, delta } = odeLikelihood(this.velocityGiven(classes), rows, { probes }, this.ode());
      const perImage = (values: tf.Tensor1D) => tf.mean(tf.reshape(values, [k, n]), 0) as tf.Tensor1D;
      return {
        zs: [tf.slice(z, 0, n) as tf.Tensor4D],
        logdet: tf.add(perImage(delta), this.dim * Math.log(DATA_SCALE)) as tf.Tensor1D,
        logpz: perImage(logpz),
      };
    });
  }

  /** The noise the ODE carries each image to (t = 1 back to 0), under the class `c`. */
  encode(x: tf.Tensor4D, c?: tf.Tensor2D): tf.Tensor4D[] {
    return [tf.tidy(() => transport(this.velocityGiven(c), tf.mul(x, DATA_SCALE) as tf.Tensor4D, 1, 0, this.ode()))];
  }

  /** The images the ODE carries noise to (t = 0 to 1), along v(x, t, null) + w (v(x, t, c) - v(x, t, null)) for guidance w. */
  decode(zs: tf.Tensor4D[], c?: tf.Tensor2D, guidance = 1): tf.Tensor4D {
    return tf.tidy(() => {
      const guided = new Guidance(c, guidance);
      const v: ImageVelocity = (y, t) => tf.tidy(() => guided.output(this.velocityGiven(guided.classes)(guided.input(y), t)));
      return tf.div(transport(v, zs[0], 0, 1, this.ode()), DATA_SCALE) as tf.Tensor4D;
    });
  }

  /** v(y, t, c) in the field's space, every image at time t; `c` [n, K] (none: no class). */
  private velocityGiven(c?: tf.Tensor2D): ImageVelocity {
    return (y, t) => tf.tidy(() => this.field.apply(y, tf.fill([y.shape[0]], t) as tf.Tensor1D, c));
  }


  /**
   * Conditional flow matching with σ_min = 0: x_t = (1 - t) x0 + t x1 for x1 the (scaled)
   * image, and the mean squared error of v(x_t, t, c) against x1 - x0, per image (`c` with label
   * dropout's all-zero rows already in it: train/batches.ts).
   */
  private regressionLoss(x: tf.Tensor4D, x0: tf.Tensor2D, t: tf.Tensor2D, c?: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const n = x.shape[0];
      const x1 = tf.mul(x, DATA_SCALE);
      const target = tf.sub(x1, tf.reshape(x0, x.shape));
      const xt = tf.add(tf.reshape(x0, x.shape), tf.mul(tf.reshape(t, [n, 1, 1, 1]), target)) as tf.Tensor4D;
      const error = tf.sub(this.field.apply(xt, tf.reshape(t, [n]) as tf.Tensor1D, c), target);
      return tf.mean(tf.square(error), [1, 2, 3]) as tf.Tensor1D;
    });
  }

  /** The configured solver: fixed steps (odeSteps of them), or adaptive within the tolerance. */
  private ode(): OdeOptions {
    const { solver, odeSteps, tolerance } = this.config;
    return solver === 'dopri5' ? { method: 'dopri5', rtol: tolerance, atol: tolerance } : { method: solver, steps: odeSteps };
  }
}
