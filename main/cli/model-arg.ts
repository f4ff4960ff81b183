// Resolves a RUN_OR_CHECKPOINT argument (a run id or folder, one of its checkpoints, or an
// exported model folder) to a loaded model, with a clear error when it is none of these. A
// damaged newest checkpoint that was skipped for an older one is reported on stderr.
import type { FlowModel } from '../engine/models/flow-model.ts';
import type { ModelJson } from '../engine/models/model-io.ts';
import { loadModelFolder } from '../engine/runs/model-folder.ts';
import type { Parsed } from './options.ts';
import { runArg } from './runs-folder.ts';

export function loadModelArg(arg: string, values: Parsed['values']): Promise<{ model: FlowModel; json: ModelJson; dir: string }> {
  return loadModelFolder(runArg(arg, values), (message) => process.stderr.write(`flowdesk: warning: ${message}\n`));
}
