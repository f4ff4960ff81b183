// Every name inside a run folder, in one place: nothing else joins these onto a path.
// docs/checkpoint-format.md describes what each holds.
import { join } from 'node:path';

/** A model folder (a checkpoint or an export) holds these two files. */
export const MODEL_JSON = 'model.json';
export const WEIGHTS_FILE = 'weights.safetensors';
/** In a checkpoint beside weights.safetensors: the moving average of the weights, same names (train/weight-average.ts). */
export const EMA_FILE = 'ema.safetensors';

export const runJsonPath = (runDir: string): string => join(runDir, 'run.json');
export const metricsPath = (runDir: string): string => join(runDir, 'metrics.jsonl');
/** import-report.json: the files of the latest import that fed the run, the skipped ones with why. */
export const importReportPath = (runDir: string): string => join(runDir, 'import-report.json');
/** status.json: the app's last word on the run (training, paused, finished, ...). */
export const statusPath = (runDir: string): string => join(runDir, 'status.json');
/** info.json: the display name and notes a person gave the run (a side file, see run-info.ts). */
export const infoPath = (runDir: string): string => join(runDir, 'info.json');
/** The run's writer lock (see checkpoint/run-lock.ts). */
export const lockPath = (runDir: string): string => join(runDir, '.lock');
export const samplesDir = (runDir: string): string => join(runDir, 'samples');
export const samplePath = (runDir: string, step: number): string => join(samplesDir(runDir), `step-${step}.png`);
/** The step of a sample grid's file name, or null for any other file. */
export function sampleStepOf(fileName: string): number | null {
  const m = /^step-(\d+)\.png$/.exec(fileName);
  return m ? Number(m[1]) : null;
}
export const CHECKPOINTS = 'checkpoints';
export const checkpointsDir = (runDir: string): string => join(runDir, CHECKPOINTS);
export const checkpointDir = (runDir: string, step: number): string => join(checkpointsDir(runDir), `step-${step}`);
/** checkpoints/best/: the best-validation weights, a model folder beside the step-N checkpoints. */
export const BEST = 'best';
export const bestDir = (runDir: string): string => join(checkpointsDir(runDir), BEST);
/** directions/: a side file written beside the run without its lock, never read by training. */
export const directionsDir = (runDir: string): string => join(runDir, 'directions');
const DIRECTION_EXT = '.safetensors';
export const directionPath = (runDir: string, name: string): string => join(directionsDir(runDir), `${name}${DIRECTION_EXT}`);
/** The direction's name of a file in directions/, or null for any other file. */
export function directionNameOf(fileName: string): string | null {
  return fileName.endsWith(DIRECTION_EXT) ? fileName.slice(0, -DIRECTION_EXT.length) : null;
}
/** Deleted runs wait here for 30 days; a dot name is never a run id, so listings skip it. */
export const trashDir = (runsDir: string): string => join(runsDir, '.trash');
