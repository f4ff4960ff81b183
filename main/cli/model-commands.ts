// `flowdesk export` and `flowdesk import`: a model out to the open format (model.json +
// weights.safetensors) and back in as a run.
import { resolve } from 'node:path';
import { resolveCheckpointDir } from '../engine/checkpoint/checkpoint-store.ts';
import { exportModel, importModel } from '../engine/checkpoint/model-export.ts';
import { parse, UsageError } from './options.ts';

export const exportUsage = `Usage: flowdesk export RUN_OR_CHECKPOINT -o DIR

Writes the model (model.json + weights.safetensors, see docs/checkpoint-format.md) into DIR.`;

export const importUsage = `Usage: flowdesk import DIR [--out RUNS] [--name NAME]

Checks that DIR holds a loadable model (model.json + weights.safetensors) and adds it to the
runs folder RUNS (default ./runs) as a run that eval, sample, rank and the app can use.`;

type Log = (line: string) => void;

export async function exportCommand(argv: string[], log: Log): Promise<number> {
  const { values, positionals } = parse(argv, { output: { type: 'string', short: 'o' } }, 1, exportUsage);
  if (values.help) return (log(exportUsage), 0);
  if (positionals.length < 1 || typeof values.output !== 'string') throw new UsageError(`export needs a run and -o DIR\n\n${exportUsage}`);
  const files = await exportModel(await resolveCheckpointDir(positionals[0]), resolve(values.output));
  log(`exported ${files.join(' and ')}`);
  return 0;
}

export async function importCommand(argv: string[], log: Log): Promise<number> {
  const { values, positionals } = parse(argv, { out: { type: 'string' }, name: { type: 'string' } }, 1, importUsage);
  if (values.help) return (log(importUsage), 0);
  if (positionals.length < 1) throw new UsageError(`import needs a folder\n\n${importUsage}`);
  const runDir = await importModel(resolve(positionals[0]), resolve(typeof values.out === 'string' ? values.out : 'runs'), typeof values.name === 'string' ? values.name : undefined);
  log(`imported as run ${runDir}`);
  return 0;
}
