// The runs folder behind the Runs view, in the worker: listing runs and their decimated curves,
// display names and notes, and the trash (delete, restore, list; old entries purged on start).
import { readdir } from 'node:fs/promises';
import type { MetricRow, ModelSettings, RunDetail, RunSummary, TrashEntry } from '../../preload/api.ts';
import { FlowDeskError } from '../engine/errors.ts';
import { decimateMinMax } from '../engine/runs/decimate.ts';
import { readMetrics, type MetricRecord } from '../engine/runs/metrics.ts';
import { readChosenWeights } from '../engine/runs/model-folder.ts';
import { updateRunInfo, type RunInfo } from '../engine/runs/run-info.ts';
import { sampleStepOf, samplesDir } from '../engine/runs/run-layout.ts';
import { listRuns, summariseRun, type RunSummary as StoredRun } from '../engine/runs/run-list.ts';
import { runDirOf } from '../engine/runs/run-locate.ts';
import { listTrash, purgeTrash, restoreRun, trashRun } from '../engine/runs/run-trash.ts';
import { trainSettingsOf } from '../engine/train/train-config.ts';
import type { ServiceSlice } from './routes.ts';

const SHOWN = new Set<string>(['train', 'eval', 'skip'] satisfies MetricRow['type'][]);

function toMetricRow(r: MetricRecord & { type: MetricRow['type'] }): MetricRow {
  return {
    type: r.type,
    step: r.step,
    time: r.time ?? 0,
    ...(typeof r.loss === 'number' ? { loss: r.loss } : {}),
    ...(r.valBpd !== undefined ? { valBpd: r.valBpd } : {}),
    ...(r.valBpdUnconditional !== undefined ? { valBpdUnconditional: r.valBpdUnconditional } : {}),
    ...(typeof r.valAccuracy === 'number' ? { valAccuracy: r.valAccuracy } : {}),
  };
}

/** Train and eval rows each thinned to a few thousand; skip rows (rare, each worth seeing) whole. */
export function decimatedMetrics(rows: MetricRecord[]): MetricRow[] {
  const shown = rows.filter((r): r is MetricRecord & { type: MetricRow['type'] } => SHOWN.has(r.type)).map(toMetricRow);
  const of = (type: MetricRow['type'], value: (m: MetricRow) => number) => decimateMinMax(shown.filter((m) => m.type === type), value);
  return [...of('train', (m) => m.loss ?? 0), ...of('eval', (m) => m.valBpd ?? 0), ...shown.filter((m) => m.type === 'skip')].sort((a, b) => a.step - b.step);
}

/** A stored run as the Api's RunSummary: the train settings flattened as the Train view has them. */
export function toApiSummary(r: StoredRun): RunSummary {
  return {
    id: r.id,
    created: r.created,
    model: r.run.model as ModelSettings,
    train: trainSettingsOf(r.run.train),
    folder: r.run.data.folder,
    step: r.step,
    checkpointStep: r.checkpointStep,
    lastValBpd: r.lastValBpd,
    lastValBpdUnconditional: r.lastValBpdUnconditional,
    lastValAccuracy: r.lastValAccuracy,
    valBpdAt: r.valBpdAt,
    status: r.status.status,
    ...r.info,
  };
}

export class RunsService implements ServiceSlice<'runs'> {
  constructor(readonly runsDir: string) {}

  /** Removes trash entries past their 30 days; the worker calls it once as it starts. */
  purgeTrash(): Promise<string[]> {
    return purgeTrash(this.runsDir);
  }

  /** Runs with a damaged file are left out (`flowdesk runs` names the file and field). */
  async listRuns(): Promise<RunSummary[]> {
    return (await listRuns(this.runsDir)).runs.map(toApiSummary);
  }

  async getRun(req: { runId: string }): Promise<RunDetail> {
    const dir = runDirOf(this.runsDir, req.runId);
    const { rows } = await readMetrics(dir);
    const names = await readdir(samplesDir(dir)).catch(() => [] as string[]);
    const sampleSteps = names.map(sampleStepOf).filter((s) => s !== null).sort((a, b) => a - b);
    // What Samples and Explore use (the model cache's choice); none before the first checkpoint.
    const chosen = await readChosenWeights(dir).catch((err: unknown) => {
      if (err instanceof FlowDeskError) return null;
      throw err;
    });
    const classes = chosen?.json.classNames ?? [];
    return { summary: toApiSummary(await summariseRun(dir)), metrics: decimatedMetrics(rows), sampleSteps, weights: chosen?.weights ?? null, classes };
  }

  setRunInfo(req: { runId: string } & RunInfo): Promise<RunInfo> {
    const { runId, ...change } = req;
    return updateRunInfo(runDirOf(this.runsDir, runId), change);
  }

  deleteRun(req: { runId: string }): Promise<TrashEntry> {
    return trashRun(this.runsDir, req.runId);
  }

  async restoreRun(req: { runId: string }): Promise<null> {
    await restoreRun(this.runsDir, req.runId);
    return null;
  }

  listTrash(): Promise<TrashEntry[]> {
    return listTrash(this.runsDir);
  }
}
