// Resolves a RUN_OR_CHECKPOINT argument (a run folder, one of its checkpoints, or an exported
// model folder) to a loaded model, with a clear error when it is none of these.
import { resolveCheckpointDir } from '../engine/checkpoint/checkpoint-store.ts';
import type { FlowModel } from '../engine/models/flow-model.ts';
import { loadModelDir } from '../engine/models/model-files.ts';
import type { ModelJson } from '../engine/models/model-io.ts';

export async function loadModelArg(arg: string): Promise<{ model: FlowModel; json: ModelJson; dir: string }> {
  const dir = await resolveCheckpointDir(arg);
  const { model, json } = await loadModelDir(dir);
  return { model, json, dir };
}
