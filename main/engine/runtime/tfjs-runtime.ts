// The plain runtime: TensorFlow.js on the calling thread, for backends that use every core by
// themselves (tfjs-node, CUDA, WebGPU) and for batches too small to split.
import * as tf from '../tf.ts';
import { ConfigError } from '../errors.ts';
import { logClassPrior, marginalLogProbs, marginalOverClasses } from '../models/class-marginal.ts';
import { bitsPerDim, classCountOf, scoringNoiseTensors, type FlowModel } from '../models/flow-model.ts';
import type { Rng } from '../random.ts';
import { autoMicroBatch, batchGradients } from '../train/gradients.ts';
import type { ComputeRuntime, TrainingStep, TrainingStepOptions } from './compute-runtime.ts';

/** `classes`' one-hot rows for `n` images as a tensor, or undefined (no class) when absent. */
export function classTensor(model: FlowModel, classes: Float32Array | undefined, n: number): tf.Tensor2D | undefined {
  return classes && tf.tensor2d(classes.subarray(0, n * classCountOf(model)), [n, classCountOf(model)]);
}

/** The first `n` images of `x` (NHWC floats) as a tensor. */
export function imageTensor(model: FlowModel, x: Float32Array, n: number): tf.Tensor4D {
  const { size, channels } = model.config;
  return tf.tensor4d(x.subarray(0, n * size * size * channels), [n, size, size, channels]);
}

export class TfjsRuntime implements ComputeRuntime {
  readonly kind = 'tfjs';

  constructor(readonly model: FlowModel) {}

  /**
   * The model, its variables current: its layers read them through their own references, not the
   * ParamStore, so weights a training step holds (onnx's, lent) are taken back first.
   */
  private current(): FlowModel {
    this.model.params.reclaimWeights();
    return this.model;
  }

  async trainingStep({ batch, nBits, microBatch, optimizer }: TrainingStepOptions): Promise<TrainingStep> {
    const micro = microBatch ?? autoMicroBatch(this.model.config, batch);
    return {
      threads: 1,
      update: async (data, inputs) => optimizer.update(batchGradients(this.current(), data, batch, nBits, micro, batch, inputs)),
      dispose: async () => {},
    };
  }

  sample(n: number, temperature: number, rng: Rng, classes?: Float32Array, guidance?: number): Promise<Float32Array> {
    const model = this.current();
    return tf.readAndDispose(tf.tidy(() => model.sample(n, temperature, rng, classTensor(model, classes, n), guidance)));
  }

  async encode(x: Float32Array, n: number): Promise<tf.Tensor4D[]> {
    const model = this.current();
    return tf.tidy(() => model.encode(imageTensor(model, x, n)));
  }

  decode(zs: tf.Tensor4D[]): Promise<Float32Array> {
    const model = this.current();
    return tf.readAndDispose(tf.tidy(() => model.decode(zs)));
  }

  async bitsPerDim(x: Float32Array, n: number, nBits: number, noise: readonly Float32Array[] = [], classes?: Float32Array): Promise<Float32Array> {
    const model = this.current();
    if (classes || !marginalOverClasses(model)) {
      return tf.readAndDispose(tf.tidy(() => bitsPerDim(model, imageTensor(model, x, n), nBits, classTensor(model, classes, n), scoringNoiseTensors(model, noise, n))));
    }
    const { size, channels } = model.config;
    const logp = marginalLogProbs(await this.classLogProbs(x, n), logClassPrior(model));
    return Float32Array.from(logp, (v) => -v / (size * size * channels * Math.LN2) + nBits);
  }

  async classLogProbs(x: Float32Array, n: number): Promise<Float32Array> {
    const model = this.current();
    if (!model.classLogProbs || classCountOf(model) === 0) throw new ConfigError('BAD_CONFIG', `This ${model.config.kind} model has no classes: it was not trained on a folder of classes.`);
    return tf.readAndDispose(tf.tidy(() => model.classLogProbs!(imageTensor(model, x, n))));
  }

  async dispose(): Promise<void> {}
}
