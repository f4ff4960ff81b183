// `flowdesk import DIR` of a PyTorch package (pytorch-package.ts) after train.py continued it:
// the package's run comes back as a new run linked to the one it came from (`continuedFrom` in
// run.json), with its metrics (the origin's rows up to the export, then PyTorch's), its whole
// checkpoints and best weights, so samples, Explore and `flowdesk train --resume` work on it.
import { basename, join } from 'node:path';
import { latestCheckpoint, readCheckpoint } from '../checkpoint/checkpoint-store.ts';
import { CheckpointError } from '../errors.ts';
import { loadModel, parseModelJson } from '../models/model-io.ts';
import { createRunDir } from '../runs/create-run.ts';
import { readRunJson, writeRunJson } from '../runs/run-json.ts';
import { MODEL_JSON, WEIGHTS_FILE } from '../runs/run-layout.ts';
import { PACKAGE_RUN, readPackageManifest } from './pytorch-package.ts';
import { copyBest, copyCheckpoint, copyMetrics, wholeCheckpoints } from './run-copy.ts';

/** Adds the run continued in the package `dir` to `runsDir` as a new run; returns its folder. */
export async function importPytorchRun(dir: string, runsDir: string, name?: string): Promise<string> {
  const manifest = await readPackageManifest(dir);
  const packageRun = join(dir, PACKAGE_RUN);
  const run = await readRunJson(packageRun);
  const checkpoints = await wholeCheckpoints(packageRun);
  const latest = await latestCheckpoint(packageRun);
  if (!latest || checkpoints.length === 0) throw new CheckpointError('NO_CHECKPOINT', `${packageRun} has no whole checkpoint; run train.py first, or export the run again.`);
  // Refuse a package whose model would not load back.
  const ckpt = await readCheckpoint(latest.dir);
  loadModel(parseModelJson(ckpt.model, join(latest.dir, MODEL_JSON)), ckpt.weights, join(latest.dir, WEIGHTS_FILE)).dispose();
  const runDir = await createRunDir(runsDir, name ?? `${manifest.origin.run}-pytorch`.slice(0, 80));
  for (const ref of checkpoints) await copyCheckpoint(ref, runDir);
  await copyBest(packageRun, runDir);
  await copyMetrics(packageRun, runDir);
  // run.json last: a run that lists is complete.
  await writeRunJson(runDir, {
    ...run,
    name: basename(runDir),
    created: new Date().toISOString(),
    continuedFrom: { run: manifest.origin.run, step: manifest.origin.step },
  });
  return runDir;
}
