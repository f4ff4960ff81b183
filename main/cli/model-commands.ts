// `flowdesk export` and `flowdesk import`: a model out to the open format (model.json +
// weights.safetensors) and back in as a run.
import { resolve } from 'node:path';
import { exportModel, importModel } from '../engine/runs/model-export.ts';
import { announceWeights, weightsArg, WEIGHTS_HELP, WEIGHTS_OPTION } from './model-arg.ts';
import { parse, UsageError } from './options.ts';
import { runArg, RUNS_HELP, runsDirOf } from './runs-folder.ts';

export const exportUsage = `Usage: flowdesk export RUN_OR_CHECKPOINT [--weights avg|last|best] -o DIR

Writes the model (model.json + weights.safetensors, see docs/checkpoint-format.md) into DIR,
a new or empty folder outside the runs folder. RUN_OR_CHECKPOINT may be a run id. The weights
chosen are the one weights.safetensors; its metadata says which they are.
${WEIGHTS_HELP}
${RUNS_HELP}`;

export const importUsage = `Usage: flowdesk import DIR [--runs RUNS] [--name NAME]

Checks that DIR holds a loadable model (model.json + weights.safetensors) and adds it to the
runs folder as a run that eval, sample, rank and the app can use.
${RUNS_HELP}
  --out DIR    the same as --runs (the older name)
  --name NAME  the new run's id (default: imported-<folder name>)`;

type Log = (line: string) => void;

export async function exportCommand(argv: string[], log: Log): Promise<number> {
  const { values, positionals } = parse(argv, { output: { type: 'string', short: 'o' }, ...WEIGHTS_OPTION }, 1, exportUsage);
  if (values.help) return (log(exportUsage), 0);
  if (positionals.length < 1 || typeof values.output !== 'string') throw new UsageError(`export needs a run and -o DIR\n\n${exportUsage}`);
  const { files, weights } = await exportModel(runArg(positionals[0], values), resolve(values.output), runsDirOf(values), weightsArg(values));
  announceWeights(weights);
  log(`exported ${files.join(' and ')}`);
  return 0;
}

export async function importCommand(argv: string[], log: Log): Promise<number> {
  const { values, positionals } = parse(argv, { out: { type: 'string' }, name: { type: 'string' } }, 1, importUsage);
  if (values.help) return (log(importUsage), 0);
  if (positionals.length < 1) throw new UsageError(`import needs a folder\n\n${importUsage}`);
  const runDir = await importModel(resolve(positionals[0]), runsDirOf(values), typeof values.name === 'string' ? values.name : undefined);
  log(`imported as run ${runDir}`);
  return 0;
}
