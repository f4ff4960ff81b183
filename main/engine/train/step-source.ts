// Where a run's training steps are computed: its model's compute runtime, at the run's batch size,
// bit depth and micro-batch, applying its optimizer's update (inside onnxruntime on onnx).
import type { ComputeRuntime, TrainingStep } from '../runtime/compute-runtime.ts';
import type { Optimizer } from './optimizer.ts';
import type { ResolvedTrainConfig } from './train-config.ts';

export type StepSource = TrainingStep;

/** The step source of a run on `runtime`; on onnx the model's step is traced here, once. */
export function stepSource(runtime: ComputeRuntime, cfg: ResolvedTrainConfig, optimizer: Optimizer): Promise<StepSource> {
  return runtime.trainingStep({ batch: cfg.batch, nBits: cfg.nBits, microBatch: cfg.microBatch, optimizer });
}
