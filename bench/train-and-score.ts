// What the quality and equal-minutes benches share: train a model as the app does (its own
// validation split, evaluations and checkpoints count in its time, backend `auto`), then score the
// weights `flowdesk eval RUN` would (the run's final checkpoint, averaged where it keeps an average)
// on a test folder. The run folder stays under `work` for the caller to sample from or delete.
import { join } from 'node:path';
import { importAllImages } from '../main/engine/data/index.ts';
import type { ModelConfig } from '../main/engine/models/config.ts';
import type { FlowModel } from '../main/engine/models/flow-model.ts';
import { loadModelFolder } from '../main/engine/runs/model-folder.ts';
import { describeWeights } from '../common/weights.ts';
import { train } from '../main/engine/train/trainer.ts';
import type { TrainConfig } from '../main/engine/train/train-config.ts';
import { bitsPerDimOfSet, meanAndStandardError } from '../main/engine/train/evaluate.ts';

export interface Scored {
  bpd: number;
  /** The standard error of `bpd` over the scored images (null for one image). */
  standardError: number | null;
  steps: number;
  seconds: number;
  /** Which of the run's weights were scored. */
  weights: string;
  runDir: string;
}

/** Trains on `trainFolder`, scores on `testFolder` (its first `limit` images, or all); `use` sees the loaded model before it is freed. */
export async function trainAndScore(
  model: ModelConfig,
  settings: TrainConfig,
  trainFolder: string,
  testFolder: string,
  work: string,
  use?: (model: FlowModel, nBits: number) => Promise<void>,
  limit?: number,
): Promise<Scored> {
  const t0 = performance.now();
  const run = await train({ folder: trainFolder, model, train: settings, runsDir: work, cacheDir: join(work, 'cache') });
  const seconds = (performance.now() - t0) / 1000;
  const loaded = await loadModelFolder(run.runDir);
  try {
    const { size, channels } = loaded.model.config;
    const { set } = await importAllImages(testFolder, { size, channels, cacheDir: join(work, 'cache') });
    const { mean, standardError } = meanAndStandardError(await bitsPerDimOfSet(loaded.model, set, { nBits: loaded.json.nBits, seed: 0, limit }));
    await use?.(loaded.model, loaded.json.nBits);
    return { bpd: mean, standardError, steps: run.step, seconds, weights: describeWeights(loaded.weights), runDir: run.runDir };
  } finally {
    loaded.model.dispose();
  }
}

/** Trainable parameters of a model. */
export function trainableCount(model: FlowModel): number {
  return [...model.params.variables.values()].reduce((sum, v) => sum + v.size, 0);
}
