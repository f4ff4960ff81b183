// Moving a model in and out of FlowDesk: export a run's model.json and weights.safetensors to
// a folder (the documented open format), and import such a folder as a new run, after checking
// that it loads. Exports never land in a run or the runs folder: a model there would pose as a
// checkpoint or shadow the run's own.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { writeCheckpoint } from '../checkpoint/checkpoint-store.ts';
import { ioCause } from '../checkpoint/io-cause.ts';
import { CheckpointError } from '../errors.ts';
import { writeFileAtomically } from '../fs/atomic-write.ts';
import { loadModel } from '../models/model-io.ts';
import { resolveTrainConfig } from '../train/train-config.ts';
import { FLOWDESK_VERSION } from '../version.ts';
import { createRunDir } from './create-run.ts';
import { loadModelFolder, readModelFolder } from './model-folder.ts';
import { RUN_FORMAT, RUN_VERSION, writeRunJson } from './run-json.ts';
import { MODEL_JSON, WEIGHTS_FILE } from './run-layout.ts';
import { insideRunsWhy } from './run-locate.ts';

/**
 * Copies the model of `source` (a run, checkpoint or model folder, see resolveModelDir) into
 * `outDir`, a new or empty folder outside `runsDir` and outside any run; returns the files written.
 */
export async function exportModel(source: string, outDir: string, runsDir: string): Promise<string[]> {
  const why = insideRunsWhy(outDir, runsDir);
  if (why) throw new CheckpointError('BAD_ARGUMENT', `Cannot export into ${outDir}: ${why}. Export into a new or empty folder outside the runs folder.`);
  // Refuse to export something that would not load back.
  const { model, dir } = await loadModelFolder(source);
  model.dispose();
  try {
    await mkdir(outDir, { recursive: true });
    if ((await readdir(outDir)).length > 0) throw new CheckpointError('BAD_ARGUMENT', `${outDir} is not empty; export into a new or empty folder.`);
    const written: string[] = [];
    for (const name of [MODEL_JSON, WEIGHTS_FILE]) {
      const target = join(outDir, name);
      await writeFileAtomically(target, await readFile(join(dir, name)));
      written.push(target);
    }
    return written;
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError('IO_ERROR', `Cannot export into ${outDir}: ${ioCause(err)}.`);
  }
}

/**
 * Checks an exported model folder and adds it to `runsDir` as a run; returns its folder. With
 * `roots` (the app's allowed folders) every file read must really lie inside them.
 */
export async function importModel(dir: string, runsDir: string, name?: string, roots?: readonly string[]): Promise<string> {
  const { json, tensors, weightsPath } = await readModelFolder(dir, roots);
  loadModel(json, tensors, weightsPath).dispose();
  const runDir = await createRunDir(runsDir, name ?? `imported-${basename(dir).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60) || 'model'}`);
  // Written whole or not at all, like any checkpoint; run.json comes last, so a run that lists is complete.
  await writeCheckpoint(runDir, {
    step: 0,
    model: json,
    weights: tensors,
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
