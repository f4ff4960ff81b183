// Where a run's training steps get their loss and gradients: its model's compute runtime, at the
// run's batch size, bit depth and micro-batch. The optimizer and weights stay in tfjs.
import type { ComputeRuntime, TrainingStep } from '../runtime/compute-runtime.ts';
import type { ResolvedTrainConfig } from './train-config.ts';

export type StepSource = TrainingStep;

/** The step source of a run on `runtime`; on onnx the model's graph is traced here, once. */
export function stepSource(runtime: ComputeRuntime, cfg: ResolvedTrainConfig): Promise<StepSource> {
  return runtime.trainingStep({ batch: cfg.batch, nBits: cfg.nBits, microBatch: cfg.microBatch });
}
