// The plain runtime: TensorFlow.js on the calling thread, for backends that use every core by
// themselves (tfjs-node, CUDA, WebGPU) and for batches too small to split.
import * as tf from '../tf.ts';
import { bitsPerDim, scoringNoiseTensors, type FlowModel } from '../models/flow-model.ts';
import type { Rng } from '../random.ts';
import { autoMicroBatch, batchGradients } from '../train/gradients.ts';
import type { ComputeRuntime, TrainingStep, TrainingStepOptions } from './compute-runtime.ts';

/** The first `n` images of `x` (NHWC floats) as a tensor. */
export function imageTensor(model: FlowModel, x: Float32Array, n: number): tf.Tensor4D {
  const { size, channels } = model.config;
  return tf.tensor4d(x.subarray(0, n * size * size * channels), [n, size, size, channels]);
}

export class TfjsRuntime implements ComputeRuntime {
  readonly kind = 'tfjs';

  constructor(readonly model: FlowModel) {}

  async trainingStep({ batch, nBits, microBatch, optimizer }: TrainingStepOptions): Promise<TrainingStep> {
    const micro = microBatch ?? autoMicroBatch(this.model.config, batch);
    return {
      threads: 1,
      update: async (data, noise) => optimizer.update(batchGradients(this.model, data, batch, nBits, micro, batch, noise)),
      dispose: async () => {},
    };
  }

  sample(n: number, temperature: number, rng: Rng): Promise<Float32Array> {
    return tf.readAndDispose(this.model.sample(n, temperature, rng));
  }

  async encode(x: Float32Array, n: number): Promise<tf.Tensor4D[]> {
    return tf.tidy(() => this.model.encode(imageTensor(this.model, x, n)));
  }

  decode(zs: tf.Tensor4D[]): Promise<Float32Array> {
    return tf.readAndDispose(tf.tidy(() => this.model.decode(zs)));
  }

  bitsPerDim(x: Float32Array, n: number, nBits: number, noise: readonly Float32Array[] = []): Promise<Float32Array> {
    return tf.readAndDispose(tf.tidy(() => bitsPerDim(this.model, imageTensor(this.model, x, n), nBits, scoringNoiseTensors(this.model, noise, n))));
  }

  async dispose(): Promise<void> {}
}
