// `flowdesk export` and `flowdesk import`: a model out to the open format (model.json +
// weights.safetensors) or to standard ONNX (--onnx), and back in as a run.
import { resolve } from 'node:path';
import { DEFAULT_ONNX_BATCH, ENCODE_ONNX, SAMPLE_ONNX } from '../engine/onnx/onnx-export.ts';
import { exportModel } from '../engine/runs/model-export.ts';
import { importFolder } from '../engine/runs/import-folder.ts';
import { exportPytorchPackage } from '../engine/export/pytorch-package.ts';
import { announceBackend } from './announce-backend.ts';
import { announceWeights, weightsArg, WEIGHTS_HELP, WEIGHTS_OPTION } from './model-arg.ts';
import { numberOption, parse, UsageError } from './options.ts';
import { runArg, RUNS_HELP, runsDirOf } from './runs-folder.ts';

/** Most images per run of an exported ONNX graph (its fixed batch dimension). */
const MAX_ONNX_BATCH = 1024;

export const exportUsage = `Usage: flowdesk export RUN_OR_CHECKPOINT [--weights avg|last|best] [--onnx [--batch N]] -o DIR
       flowdesk export RUN --pytorch -o DIR

Writes the model (model.json + weights.safetensors, see docs/checkpoint-format.md) into DIR,
a new or empty folder outside the runs folder. RUN_OR_CHECKPOINT may be a run id. The weights
chosen are the one weights.safetensors; its metadata says which they are.
${WEIGHTS_HELP}
  --onnx       write standard ONNX instead (opset 17, the chosen weights inside): ${SAMPLE_ONNX}
               (noise and temperature in, 8-bit pixels out), ${ENCODE_ONNX} (8-bit pixels in, latents
               and log p(x) out) and a README.md saying what goes in and out
  --batch N    images per run of the ONNX graphs, a fixed dimension (default ${DEFAULT_ONNX_BATCH}; flow matching 4)
  --pytorch    write a Python package that continues the run under torchrun with
               DistributedDataParallel from its newest checkpoint (Glow, RealNVP, NICE, TarFlow;
               see DIR/README.md)
${RUNS_HELP}`;

export const importUsage = `Usage: flowdesk import DIR [--runs RUNS] [--name NAME]

Checks that DIR holds a loadable model (model.json + weights.safetensors) and adds it to the
runs folder as a run that eval, sample, rank and the app can use. A PyTorch package (export
--pytorch) comes back as a new run continued from the one it was exported from.
${RUNS_HELP}
  --out DIR    the same as --runs (the older name)
  --name NAME  the new run's id (default: imported-<folder name>, or <origin run>-pytorch)`;

type Log = (line: string) => void;

export async function exportCommand(argv: string[], log: Log): Promise<number> {
  const { values, positionals } = parse(argv, { output: { type: 'string', short: 'o' }, onnx: { type: 'boolean' }, pytorch: { type: 'boolean' }, batch: { type: 'string' }, ...WEIGHTS_OPTION }, 1, exportUsage);
  if (values.help) return (log(exportUsage), 0);
  if (positionals.length < 1 || typeof values.output !== 'string') throw new UsageError(`export needs a run and -o DIR\n\n${exportUsage}`);
  const onnx = values.onnx === true;
  if (values.pytorch) {
    if (values.weights !== undefined || onnx) throw new UsageError('--pytorch continues the run from its newest checkpoint; --weights and --onnx do not apply');
    const done = await exportPytorchPackage(runArg(positionals[0], values), resolve(values.output), runsDirOf(values));
    for (const warning of done.warnings) log(`warning: ${warning}`);
    log(`exported a PyTorch package continuing from step ${done.step} (${done.trainImages} training, ${done.valImages} validation images) into ${done.dir}; see its README.md`);
    return 0;
  }
  const batch = numberOption(values, 'batch', { integer: true, min: 1, max: MAX_ONNX_BATCH });
  if (batch !== undefined && !onnx) throw new UsageError(`--batch applies to --onnx exports only\n\n${exportUsage}`);
  // The ONNX graphs are traced on the wasm backend.
  if (onnx) await announceBackend('wasm');
  const result = await exportModel(runArg(positionals[0], values), resolve(values.output), runsDirOf(values), weightsArg(values), { format: onnx ? 'onnx' : 'flowdesk', batch });
  announceWeights(result.weights);
  log(`exported ${result.files.join(' and ')}`);
  if (result.batch !== undefined) log(`ONNX graphs with the weights inside, ${result.batch} images per run (the batch dimension is fixed); README.md says what goes in and out`);
  return 0;
}

export async function importCommand(argv: string[], log: Log): Promise<number> {
  const { values, positionals } = parse(argv, { out: { type: 'string' }, name: { type: 'string' } }, 1, importUsage);
  if (values.help) return (log(importUsage), 0);
  if (positionals.length < 1) throw new UsageError(`import needs a folder\n\n${importUsage}`);
  const dir = resolve(positionals[0]);
  const name = typeof values.name === 'string' ? values.name : undefined;
  const { runDir, continuedFrom } = await importFolder(dir, runsDirOf(values), name);
  log(`imported as run ${runDir}${continuedFrom ? `, continued from run ${continuedFrom.run} at step ${continuedFrom.step}` : ''}`);
  return 0;
}
