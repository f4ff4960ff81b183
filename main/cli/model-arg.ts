// Resolves a RUN_OR_CHECKPOINT argument (a run id or folder, one of its checkpoints, or an
// exported model folder) to a loaded model, with a clear error when it is none of these, and
// the `--weights` choice every command that loads a model takes. A damaged newest checkpoint
// that was skipped for an older one is reported on stderr, and so are the weights used.
import { DEFAULT_WEIGHTS, describeWeights, WEIGHTS_CHOICES, type WeightsChoice, type WeightsInfo } from '../../common/weights.ts';
import type { FlowModel } from '../engine/models/flow-model.ts';
import type { ModelJson } from '../engine/models/model-io.ts';
import { loadModelFolder } from '../engine/runs/model-folder.ts';
import { choiceOption, type Parsed } from './options.ts';
import { runArg } from './runs-folder.ts';

/** The `--weights` option, for a command's option table. */
export const WEIGHTS_OPTION = { weights: { type: 'string' } } as const;
export const WEIGHTS_HELP = `  --weights ${WEIGHTS_CHOICES.join('|')}  the moving average of the weights (default ${DEFAULT_WEIGHTS}; the last ones where a checkpoint has none),
               the last step's, or the run's best-validation weights`;

export function weightsArg(values: Parsed['values']): WeightsChoice | undefined {
  return choiceOption(values, 'weights', WEIGHTS_CHOICES);
}

/** "weights: averaged (decay 0.999) from step 800" on stderr, beside the backend's line. */
export function announceWeights(weights: WeightsInfo): void {
  process.stderr.write(`weights: ${describeWeights(weights)}\n`);
}

export async function loadModelArg(arg: string, values: Parsed['values']): Promise<{ model: FlowModel; json: ModelJson; dir: string; weights: WeightsInfo }> {
  const loaded = await loadModelFolder(runArg(arg, values), {
    weights: weightsArg(values),
    onWarning: (message) => process.stderr.write(`flowdesk: warning: ${message}\n`),
  });
  announceWeights(loaded.weights);
  return loaded;
}
