// Copies the parts of a run folder that travel with a PyTorch package and back: whole
// checkpoint folders (each written whole through the checkpoint store), the best weights and
// the metrics rows, so both ends are ordinary run folders in docs/checkpoint-format.md's layout.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listCheckpoints, readCheckpoint, writeBestWeights, writeCheckpointFiles, type CheckpointRef } from '../checkpoint/checkpoint-store.ts';
import { decodeSafetensors } from '../checkpoint/safetensors.ts';
import { writeFileAtomically } from '../fs/atomic-write.ts';
import { readMetrics } from '../runs/metrics.ts';
import { bestDir, metricsPath, MODEL_JSON, WEIGHTS_FILE } from '../runs/run-layout.ts';
import { existsSync } from 'node:fs';

/** The checkpoints of `fromRun` that read back whole, oldest first (checked before anything is copied). */
export async function wholeCheckpoints(fromRun: string): Promise<CheckpointRef[]> {
  const whole: CheckpointRef[] = [];
  for (const ref of await listCheckpoints(fromRun)) {
    try {
      await readCheckpoint(ref.dir);
      whole.push(ref);
    } catch {
      // A damaged checkpoint stays behind, as resume would skip it.
    }
  }
  return whole;
}

/** Copies the checkpoint `ref` into `toRun` as checkpoints/step-N, whole. */
export async function copyCheckpoint(ref: CheckpointRef, toRun: string): Promise<string> {
  const files: Record<string, Uint8Array> = {};
  for (const entry of await readdir(ref.dir, { withFileTypes: true })) {
    if (entry.isFile()) files[entry.name] = await readFile(join(ref.dir, entry.name));
  }
  return writeCheckpointFiles(toRun, ref.step, files);
}

/** Copies checkpoints/best/ of `fromRun` into `toRun` when it has one. */
export async function copyBest(fromRun: string, toRun: string): Promise<void> {
  const dir = bestDir(fromRun);
  if (!existsSync(join(dir, WEIGHTS_FILE))) return;
  const model = JSON.parse(await readFile(join(dir, MODEL_JSON), 'utf8')) as object;
  const bytes = await readFile(join(dir, WEIGHTS_FILE));
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), join(dir, WEIGHTS_FILE));
  await writeBestWeights(toRun, model, tensors, metadata);
}

/** Writes `fromRun`'s whole metrics rows (those up to `upTo`, when given) as `toRun`'s metrics.jsonl. */
export async function copyMetrics(fromRun: string, toRun: string, upTo = Infinity): Promise<number> {
  const rows = (await readMetrics(fromRun)).rows.filter((r) => r.step <= upTo);
  await writeFileAtomically(metricsPath(toRun), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return rows.length;
}
