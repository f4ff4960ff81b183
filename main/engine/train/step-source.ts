// Where a run's training steps get their loss and gradients: one onnxruntime graph when the
// backend is 'onnx' (native kernels on every core), else TensorFlow.js with the batch split
// across the model's replica threads. Either way the optimizer and weights stay in tfjs.
import type { BackendName } from '../backend.ts';
import type { FlowModel } from '../models/flow-model.ts';
import { OnnxGradients } from '../onnx/onnx-gradients.ts';
import { loadOrt } from '../onnx/runtime.ts';
import { parallelGradients, stepThreads } from './gradient-workers.ts';
import { autoMicroBatch, type StepGradients } from './gradients.ts';
import type { ResolvedTrainConfig } from './train-config.ts';

export interface StepSource {
  /** Loss and gradients of the mean bits per dim of the `batch` images in `data`. */
  gradients(data: Float32Array): Promise<StepGradients>;
  dispose(): Promise<void>;
}

/** The step source for `model` on `backend`; onnx traces the model's graph here, once. */
export async function stepSource(model: FlowModel, backend: BackendName, cfg: ResolvedTrainConfig): Promise<StepSource> {
  if (backend === 'onnx') {
    const ort = loadOrt();
    if ('reason' in ort) throw new Error(ort.reason);
    return OnnxGradients.create(ort.ort, model, cfg.batch, cfg.nBits, cfg.threads ?? undefined);
  }
  const microBatch = cfg.microBatch ?? autoMicroBatch(model.config, cfg.batch);
  const threads = stepThreads(model.config, cfg.batch, cfg.threads);
  return {
    gradients: async (data) => parallelGradients(model, data, cfg.batch, cfg.nBits, microBatch, threads),
    dispose: async () => {},
  };
}
