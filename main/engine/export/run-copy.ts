// Copies the parts of a run folder that travel with a PyTorch package and back: whole
// checkpoint folders (each written whole through the checkpoint store), the best weights and
// the metrics rows, so both ends are ordinary run folders in docs/checkpoint-format.md's layout.
// With `roots` (the app importing a package) every file read must really lie inside them.
// Each model.json travels as it is unless the copy is given a rewrite (the export fills it).
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { jsonFile, listCheckpoints, readCheckpoint, writeBestWeights, writeCheckpointFiles, type CheckpointRef } from '../checkpoint/checkpoint-store.ts';
import { decodeSafetensors } from '../checkpoint/safetensors.ts';
import { writeFileAtomically } from '../fs/atomic-write.ts';
import { OutsideRootsError, readCheckedFile } from '../fs/checked-read.ts';
import { parsedJson } from '../runs/validated-read.ts';
import { readMetrics } from '../runs/metrics.ts';
import { bestDir, metricsPath, MODEL_JSON, WEIGHTS_FILE } from '../runs/run-layout.ts';

/** Roots as the copies take them: absent for the CLI, which reads what it is told. */
type Roots = readonly string[] | undefined;
/** What a copy writes for a model.json it read (`value`, parsed from the file `source`); absent: the file's own bytes. */
export type ModelJsonRewrite = (value: unknown, source: string) => object;

/** The checkpoints of `fromRun` that read back whole, oldest first (checked before anything is copied). */
export async function wholeCheckpoints(fromRun: string, roots?: Roots): Promise<CheckpointRef[]> {
  const whole: CheckpointRef[] = [];
  for (const ref of await listCheckpoints(fromRun)) {
    try {
      await readCheckpoint(ref.dir, roots);
      whole.push(ref);
    } catch (err) {
      // A damaged checkpoint stays behind, as resume would skip it; a link that leaves is refused, not hidden.
      if (err instanceof OutsideRootsError) throw err;
    }
  }
  return whole;
}

/**
 * Copies the checkpoint `ref` into `toRun` as checkpoints/step-N, whole (a file linked from it is
 * copied as a file), its model.json through `rewrite` when given.
 */
export async function copyCheckpoint(ref: CheckpointRef, toRun: string, roots?: Roots, rewrite?: ModelJsonRewrite): Promise<string> {
  const files: Record<string, Buffer | string> = {};
  for (const entry of await readdir(ref.dir, { withFileTypes: true })) {
    if (entry.isFile() || entry.isSymbolicLink()) files[entry.name] = await readCheckedFile(join(ref.dir, entry.name), { roots, what: 'run' });
  }
  if (rewrite) {
    const modelPath = join(ref.dir, MODEL_JSON);
    files[MODEL_JSON] = jsonFile(rewrite(parsedJson(files[MODEL_JSON].toString('utf8'), modelPath), modelPath), 'model');
  }
  return writeCheckpointFiles(toRun, ref.step, files);
}

/** Copies checkpoints/best/ of `fromRun` into `toRun` when it has one, its model.json through `rewrite` when given. */
export async function copyBest(fromRun: string, toRun: string, roots?: Roots, rewrite?: ModelJsonRewrite): Promise<void> {
  const dir = bestDir(fromRun);
  if (!existsSync(join(dir, WEIGHTS_FILE))) return;
  const modelPath = join(dir, MODEL_JSON);
  const model = parsedJson((await readCheckedFile(modelPath, { roots, what: 'run' })).toString('utf8'), modelPath) as object;
  const weightsPath = join(dir, WEIGHTS_FILE);
  const bytes = await readCheckedFile(weightsPath, { roots, what: 'run' });
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), weightsPath);
  await writeBestWeights(toRun, rewrite ? rewrite(model, modelPath) : model, tensors, metadata);
}

/** Writes `fromRun`'s whole metrics rows (those up to `upTo`, when given) as `toRun`'s metrics.jsonl. */
export async function copyMetrics(fromRun: string, toRun: string, upTo = Infinity, roots?: Roots): Promise<number> {
  const rows = (await readMetrics(fromRun, roots)).rows.filter((r) => r.step <= upTo);
  await writeFileAtomically(metricsPath(toRun), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return rows.length;
}
