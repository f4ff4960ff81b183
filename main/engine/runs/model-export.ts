// Moving a model in and out of FlowDesk: export a run's model.json and the weights chosen (by
// default the averaged ones) as weights.safetensors to a folder (the documented open format;
// its metadata says which weights they are), or as standard ONNX files with those weights inside
// (onnx/onnx-export.ts), and import a FlowDesk-format folder as a new run, after checking that it
// loads. Exports never land in a run or the runs folder: a model there would pose as a checkpoint
// or shadow the run's own.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import type { ExportFormat } from '../../../common/export-formats.ts';
import type { WeightsChoice, WeightsInfo } from '../../../common/weights.ts';
import { basename, join } from 'node:path';
import { writeCheckpoint } from '../checkpoint/checkpoint-store.ts';
import { encodeSafetensors } from '../checkpoint/safetensors.ts';
import { ioCause } from '../checkpoint/io-cause.ts';
import { CheckpointError, ConfigError } from '../errors.ts';
import { writeFileAtomically } from '../fs/atomic-write.ts';
import type { FlowModel } from '../models/flow-model.ts';
import { loadModel, type ModelJson } from '../models/model-io.ts';
import { TraceError } from '../onnx/graph-builder.ts';
import { onnxBatchOf, onnxExportFiles } from '../onnx/onnx-export.ts';
import { resolveTrainConfig } from '../train/train-config.ts';
import { FLOWDESK_VERSION } from '../version.ts';
import { createRunDir } from './create-run.ts';
import { readChosenWeights, readModelFolder } from './model-folder.ts';
import { RUN_FORMAT, RUN_VERSION, writeRunJson } from './run-json.ts';
import { MODEL_JSON, WEIGHTS_FILE } from './run-layout.ts';
import { insideRunsWhy } from './run-locate.ts';
import { weightsMeta } from './weights-meta.ts';

export interface ExportOptions {
  /** `flowdesk` (model.json + weights.safetensors, the default) or `onnx` (sample.onnx, encode.onnx, README.md). */
  format?: ExportFormat;
  /** ONNX only: images per run, the graphs' fixed batch dimension (default onnxBatchOf's). */
  batch?: number;
}

/**
 * Writes the model of `source` (a run, checkpoint or model folder, see resolveWeights) with the
 * `weights` chosen (default: averaged) into `outDir`, a new or empty folder outside `runsDir`
 * and outside any run, in `opts.format`; returns the files written and which weights they hold.
 */
export async function exportModel(
  source: string,
  outDir: string,
  runsDir: string,
  weights?: WeightsChoice,
  opts: ExportOptions = {},
): Promise<{ files: string[]; weights: WeightsInfo; batch?: number }> {
  const why = insideRunsWhy(outDir, runsDir);
  if (why) throw new CheckpointError('BAD_ARGUMENT', `Cannot export into ${outDir}: ${why}. Export into a new or empty folder outside the runs folder.`);
  const chosen = await readChosenWeights(source, weights);
  // Refuse to export something that would not load back.
  const model = loadModel(chosen.json, chosen.tensors, chosen.weightsPath);
  try {
    await writingInto(outDir, async () => {
      await mkdir(outDir, { recursive: true });
      if ((await readdir(outDir)).length > 0) throw new CheckpointError('BAD_ARGUMENT', `${outDir} is not empty; export into a new or empty folder.`);
    });
    const batch = opts.format === 'onnx' ? onnxBatchOf(model, opts.batch) : undefined;
    const files =
      batch !== undefined
        ? onnxFiles(model, chosen.json, chosen.weights, batch)
        : { [MODEL_JSON]: await readFile(join(chosen.dir, MODEL_JSON)), [WEIGHTS_FILE]: encodeSafetensors(chosen.tensors, weightsMeta(chosen.weights)) };
    const written = await writingInto(outDir, async () => {
      const targets: string[] = [];
      for (const [name, bytes] of Object.entries(files)) {
        targets.push(join(outDir, name));
        await writeFileAtomically(targets[targets.length - 1], bytes);
      }
      return targets;
    });
    return { files: written, weights: chosen.weights, batch };
  } finally {
    model.dispose();
  }
}

/** `work` on the export folder, its file-system failures said as IO_ERROR naming the folder. */
async function writingInto<T>(outDir: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError('IO_ERROR', `Cannot export into ${outDir}: ${ioCause(err)}.`);
  }
}

/** The ONNX export's files, or why this model cannot be one (a kernel without an emitter, an untraceable solve). */
function onnxFiles(model: FlowModel, json: ModelJson, weights: WeightsInfo, batch: number): Record<string, Uint8Array> {
  try {
    return onnxExportFiles(model, json.nBits, weights, batch);
  } catch (err) {
    if (!(err instanceof TraceError)) throw err;
    throw new ConfigError('BAD_CONFIG', `Cannot export this ${model.config.kind} model as ONNX: ${err.message}.`);
  }
}

/**
 * Checks an exported model folder and adds it to `runsDir` as a run; returns its folder. With
 * `roots` (the app's allowed folders) every file read must really lie inside them.
 */
export async function importModel(dir: string, runsDir: string, name?: string, roots?: readonly string[]): Promise<string> {
  const { json, tensors, weightsPath, weights } = await readModelFolder(dir, { roots });
  loadModel(json, tensors, weightsPath).dispose();
  const runDir = await createRunDir(runsDir, name ?? `imported-${basename(dir).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60) || 'model'}`);
  // Written whole or not at all, like any checkpoint; run.json comes last, so a run that lists is complete.
  await writeCheckpoint(runDir, {
    step: 0,
    model: json,
    weights: tensors,
    weightsMeta: weightsMeta(weights), // which weights they were stays said
    // No optimizer state travels with an exported model; an empty one keeps the checkpoint whole.
    optimizer: {},
    optimizerMeta: { kind: 'none', step: '0' },
    state: { step: 0, imported: dir },
  });
  await writeRunJson(runDir, {
    format: RUN_FORMAT,
    version: RUN_VERSION,
    name: basename(runDir),
    created: new Date().toISOString(),
    model: json.config,
    train: resolveTrainConfig({ nBits: json.nBits, steps: 1 }),
    data: { folder: dir, bundled: false, fingerprint: '', train: 0, val: 0, skipped: 0 },
    imported: true,
    versions: { flowdesk: FLOWDESK_VERSION },
  });
  return runDir;
}
