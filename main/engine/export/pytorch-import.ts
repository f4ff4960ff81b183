// `flowdesk import DIR` of a PyTorch package (pytorch-package.ts) after train.py continued it:
// the package's run comes back as a new run linked to the one it came from (`continuedFrom` in
// run.json), with its metrics (the origin's rows up to the export, then PyTorch's), its whole
// checkpoints and best weights, so samples, Explore and `flowdesk train --resume` work on it.
import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readCheckpoint } from '../checkpoint/checkpoint-store.ts';
import { CheckpointError } from '../errors.ts';
import { loadModel, parseModelJson } from '../models/model-io.ts';
import { createRunDir } from '../runs/create-run.ts';
import { readRunJson, writeRunJson } from '../runs/run-json.ts';
import { MODEL_JSON, WEIGHTS_FILE } from '../runs/run-layout.ts';
import { PACKAGE_RUN, readPackageManifest } from './pytorch-package.ts';
import { copyBest, copyCheckpoint, copyMetrics, wholeCheckpoints } from './run-copy.ts';

/**
 * Adds the run continued in the package `dir` to `runsDir` as a new run; returns its folder.
 * With `roots` (the app's allowed folders) every file read from the package must really lie
 * inside them. A package train.py has not continued yet is refused, saying what to run.
 */
export async function importPytorchRun(dir: string, runsDir: string, name?: string, roots?: readonly string[]): Promise<string> {
  const manifest = await readPackageManifest(dir, roots);
  const packageRun = join(dir, PACKAGE_RUN);
  const run = await readRunJson(packageRun, roots);
  const checkpoints = await wholeCheckpoints(packageRun, roots);
  const latest = checkpoints.at(-1);
  if (!latest) throw new CheckpointError('NO_CHECKPOINT', `${packageRun} has no whole checkpoint; run train.py first, or export the run again.`);
  if (latest.step <= manifest.origin.step) {
    throw new CheckpointError(
      'NO_CHECKPOINT',
      `${dir} holds no checkpoint past step ${latest.step}, the one exported from run ${manifest.origin.run}: train.py has not continued it yet. ` +
        `Run \`python3 train.py --steps N\` (N past ${latest.step}; or torchrun, see the package's README.md) in that folder, then import it.`,
    );
  }
  // Refuse a package whose model would not load back.
  const ckpt = await readCheckpoint(latest.dir, roots);
  loadModel(parseModelJson(ckpt.model, join(latest.dir, MODEL_JSON)), ckpt.weights, join(latest.dir, WEIGHTS_FILE)).dispose();
  const runDir = await createRunDir(runsDir, name ?? `${manifest.origin.run}-pytorch`.slice(0, 80));
  try {
    for (const ref of checkpoints) await copyCheckpoint(ref, runDir, roots);
    await copyBest(packageRun, runDir, roots);
    await copyMetrics(packageRun, runDir, Infinity, roots);
    // run.json last: a run that lists is complete.
    await writeRunJson(runDir, {
      ...run,
      name: basename(runDir),
      created: new Date().toISOString(),
      continuedFrom: { run: manifest.origin.run, step: manifest.origin.step },
    });
  } catch (err) {
    // A file refused or unreadable part way leaves no half run behind to take the name.
    await rm(runDir, { recursive: true, force: true });
    throw err;
  }
  return runDir;
}
