// What `flowdesk import DIR` and the app's Import take, decided in one place: a PyTorch package
// (flowdesk-pytorch.json) comes back as the run train.py continued, a model export
// (model.json + weights.safetensors) as a new run of that model; anything else is refused.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../errors.ts';
import { importPytorchRun } from '../export/pytorch-import.ts';
import { isPytorchPackage, PACKAGE_MANIFEST } from '../export/pytorch-package.ts';
import { importModel } from './model-export.ts';
import { readRunJson } from './run-json.ts';
import { MODEL_JSON, WEIGHTS_FILE } from './run-layout.ts';

export interface ImportedRun {
  runDir: string;
  /** For a PyTorch package: the run and step it continued. */
  continuedFrom?: { run: string; step: number };
}

/**
 * Adds the package or model export `dir` to `runsDir` as a new run. With `roots` (the app's
 * allowed folders) every file read from `dir` must really lie inside them.
 */
export async function importFolder(dir: string, runsDir: string, name?: string, roots?: readonly string[]): Promise<ImportedRun> {
  if (isPytorchPackage(dir)) {
    const runDir = await importPytorchRun(dir, runsDir, name, roots);
    return { runDir, continuedFrom: (await readRunJson(runDir)).continuedFrom };
  }
  if (!existsSync(join(dir, MODEL_JSON))) {
    throw new CheckpointError(
      'NO_CHECKPOINT',
      `${dir} is neither a model export (${MODEL_JSON} + ${WEIGHTS_FILE}) nor a PyTorch package (${PACKAGE_MANIFEST}); ` +
        'choose a folder written by Export (flowdesk export) or by flowdesk export --pytorch.',
    );
  }
  return { runDir: await importModel(dir, runsDir, name, roots) };
}
