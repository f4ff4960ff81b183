// The runs of a runs folder as the app's Runs view and `flowdesk runs` show them: id, created,
// settings, progress, last validation bits/dim, the time marks answered and status, newest first.
import { readdir, stat } from 'node:fs/promises';
import type { TimeMarkResult } from '../../../common/time-marks.ts';
import { basename, join } from 'node:path';
import { listCheckpoints } from '../checkpoint/checkpoint-store.ts';
import { ioCause } from '../checkpoint/io-cause.ts';
import { CheckpointError, FlowDeskError } from '../errors.ts';
import { latestMetrics } from './metrics.ts';
import { readRunInfo, type RunInfo } from './run-info.ts';
import { readRunJson, type RunJson } from './run-json.ts';
import { runJsonPath } from './run-layout.ts';
import { readRunStatus, type StatusFile } from './run-status.ts';
import { timeMarkResults } from './time-mark-rows.ts';

export interface RunSummary {
  dir: string;
  /** The folder's name, which is the run's id. */
  id: string;
  run: RunJson;
  /** run.json's "created" when it is a date, else run.json's modification time (ISO 8601). */
  created: string;
  /** The last step logged, 0 before the first. */
  step: number;
  /** Step of the newest checkpoint folder, the one a model is loaded from; null before the first. */
  checkpointStep: number | null;
  lastValBpd: number | null;
  /** A conditional run's last unconditional validation bits per dim and class accuracy; null for an unconditional run. */
  lastValBpdUnconditional: number | null;
  lastValAccuracy: number | null;
  /** Validation bits per dim at each time mark the run's clock has passed (common/time-marks.ts). */
  valBpdAt: TimeMarkResult[];
  status: StatusFile;
  /** Display name and notes a person gave it (info.json). */
  info: RunInfo;
}

/** One run's summary; BAD_CHECKPOINT naming the file and field when one of its files is damaged. */
export async function summariseRun(dir: string): Promise<RunSummary> {
  const run = await readRunJson(dir);
  const stated = Date.parse(run.created);
  const time = Number.isFinite(stated) ? stated : ((await stat(runJsonPath(dir)).catch(() => null))?.mtimeMs ?? 0);
  const { last, lastEval } = await latestMetrics(dir);
  const step = last?.step ?? 0;
  const status = await readRunStatus(dir, { reachedLastStep: step >= run.train.steps, importedUntrained: run.imported === true && !last });
  const info = await readRunInfo(dir);
  const checkpointStep = (await listCheckpoints(dir)).at(-1)?.step ?? null;
  const valBpdAt = await timeMarkResults(dir);
  return { dir, id: basename(dir), run, created: new Date(time).toISOString(), step, checkpointStep, lastValBpd: lastEval?.valBpd ?? null, lastValBpdUnconditional: lastEval?.valBpdUnconditional ?? null, lastValAccuracy: lastEval?.valAccuracy ?? null, valBpdAt, status, info };
}

export interface RunListing {
  runs: RunSummary[];
  /** Run folders that could not be summarised, each with why (a damaged file names its field). */
  broken: { dir: string; problem: string }[];
}

/** Run folders under `runsDir`, newest first; folders without run.json are not runs and are left out. */
export async function listRuns(runsDir: string): Promise<RunListing> {
  let names: string[];
  try {
    names = await readdir(runsDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { runs: [], broken: [] };
    throw new CheckpointError('IO_ERROR', `Cannot list the runs in ${runsDir}: ${ioCause(err)}.`);
  }
  const runs: RunSummary[] = [];
  const broken: RunListing['broken'] = [];
  for (const name of names) {
    const dir = join(runsDir, name);
    try {
      runs.push(await summariseRun(dir));
    } catch (err) {
      if (err instanceof FlowDeskError && err.code === 'NO_CHECKPOINT') continue; // not a run folder
      broken.push({ dir, problem: (err as Error).message });
    }
  }
  runs.sort((a, b) => Date.parse(b.created) - Date.parse(a.created) || (a.id < b.id ? 1 : -1));
  return { runs, broken };
}
