// What models with one standard-normal latent shaped as the image share (NICE, TarFlow, flow matching):
// log p(x) from the forward pass, sampling as the decoding of temperature-scaled noise, disposal.
import * as tf from '../tf.ts';
import { gaussianFromNoise } from '../flows/gaussian.ts';
import { ParamStore } from '../flows/params.ts';
import type { Rng } from '../random.ts';
import type { ResolvedModelConfig } from './config.ts';
import { drawNoise, logProbByForward, type ClassLabels, type FlowModel, type FlowOutput } from './flow-model.ts';

export abstract class ImageLatentModel implements FlowModel {
  readonly params = new ParamStore();
  /** No data-dependent initialisation. */
  initialised = true;
  /** A conditional model's classes (TarFlow, flow matching), set by the trainer or model.json. */
  classLabels: ClassLabels | null = null;
  abstract readonly config: ResolvedModelConfig;

  /** `c`: the classes of a conditional model (TarFlow, flow matching), else ignored; `noise` is a model's scoring noise (flow matching's probes). */
  abstract forward(x: tf.Tensor4D, c?: tf.Tensor2D, noise?: readonly tf.Tensor2D[]): FlowOutput;
  abstract encode(x: tf.Tensor4D, c?: tf.Tensor2D): tf.Tensor4D[];
  /** `guidance`: FlowModel.sample's classifier-free guidance weight, for a model that takes it. */
  abstract decode(zs: tf.Tensor4D[], c?: tf.Tensor2D, guidance?: number): tf.Tensor4D;

  initialise(): void {}

  logProb(x: tf.Tensor4D, c?: tf.Tensor2D, noise?: readonly tf.Tensor2D[]): tf.Tensor1D {
    return logProbByForward(this, x, c, noise);
  }

  get noiseShapes(): [number, number, number][] {
    return [[this.config.size, this.config.size, this.config.channels]];
  }

  /** The noise sampleFromNoise maps back to x: the one latent, already standard normal, under the class `c`. */
  noiseOf(x: tf.Tensor4D, c?: tf.Tensor2D): tf.Tensor4D[] {
    return this.encode(x, c);
  }

  sample(n: number, temperature: number, rng: Rng, c?: tf.Tensor2D, guidance?: number): tf.Tensor4D {
    return this.sampleFromNoise(drawNoise(this, n, temperature, rng), n, c, guidance);
  }

  sampleFromNoise(noise: readonly (Float32Array | tf.Tensor4D)[], n: number, c?: tf.Tensor2D, guidance?: number): tf.Tensor4D {
    const { size, channels } = this.config;
    return tf.tidy(() => this.decode([gaussianFromNoise(noise[0], [n, size, size, channels], null)], c, guidance));
  }

  dispose(): void {
    this.params.dispose();
  }
}
