// The engine behind the app's Api, living in the worker process: imports, one training run at
// a time (start, pause, cancel, resume), runs on disk, and sampling from their checkpoints.
// Results are plain JSON; images travel as PNG data URLs.
import { readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { AppEvent, ImportRequest, ImportSummary, MetricRow, ModelSettings, RunDetail, RunSummary, SampleGrid, SampleRequest, StartRequest } from '../../preload/api.ts';
import { describeBackend, initBackend } from '../engine/backend.ts';
import { encodeImageGrid, gatherBatch, imagesOutOfRange, importImageFolder, toPixels } from '../engine/data/index.ts';
import { FlowDeskError, toAppError } from '../engine/errors.ts';
import { Rng } from '../engine/random.ts';
import { runtimeFor } from '../engine/runtime/runtime-for.ts';
import { defaultImageFolder } from '../engine/resources.ts';
import { trainSettingsOf } from '../engine/train/train-config.ts';
import type { TrainEvent } from '../engine/train/train-events.ts';
import { resume, train } from '../engine/train/trainer.ts';
import { readMetrics, type MetricRecord } from '../engine/runs/metrics.ts';
import { listRuns, summariseRun, type RunSummary as StoredRun } from '../engine/runs/run-list.ts';
import { sampleStepOf, samplePath, samplesDir } from '../engine/runs/run-layout.ts';
import { runDirOf } from '../engine/runs/run-locate.ts';
import { writeRunStatus } from '../engine/runs/run-status.ts';
import type { ModelCache } from './model-cache.ts';
import type { ServiceSlice } from './routes.ts';

function pngDataUrl(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}

interface ActiveRun {
  runDir: string | null;
  controller: AbortController;
  stopAs: 'paused' | 'cancelled';
  done: Promise<void>;
}

export class EngineService implements ServiceSlice<'engine'> {
  private active: ActiveRun | null = null;
  constructor(
    readonly runsDir: string,
    private readonly emit: (e: AppEvent) => void,
    private readonly models: ModelCache,
    /** Real paths of the allowed roots: every image read for the page must lie inside them. */
    private readonly roots: readonly string[],
  ) {}

  async backend(): Promise<string> {
    return describeBackend(await initBackend());
  }

  async importFolder(req: ImportRequest): Promise<ImportSummary> {
    const folder = req.folder ?? defaultImageFolder();
    const { train: set, report } = await importImageFolder(folder, { size: req.size, channels: req.channels, roots: this.roots });
    const n = Math.min(16, set.count);
    const thumbs = await encodeImageGrid(gatherBatch(set, Array.from({ length: n }, (_, i) => i)), n, set.size, set.channels, n);
    return {
      folder,
      bundled: req.folder === null,
      found: report.found,
      used: report.used,
      train: report.train,
      val: report.val,
      skipped: report.skipped,
      fromCache: report.fromCache,
      seconds: report.seconds,
      thumbnails: pngDataUrl(thumbs),
    };
  }

  startTraining(req: StartRequest): Promise<{ runId: string }> {
    return this.launch(null, (onEvent, signal) =>
      train({ folder: req.folder, model: req.model, train: req.train, runsDir: this.runsDir, roots: this.roots, onEvent, signal }),
    );
  }

  async resumeTraining(req: { runId: string; steps?: number }): Promise<{ runId: string }> {
    const runDir = await this.runDir(req.runId);
    // The run is known before it starts, so warnings before its first step (steps lost) name it.
    return this.launch(runDir, (onEvent, signal) => resume(runDir, { steps: req.steps, roots: this.roots, onEvent, signal }));
  }

  async pauseTraining(): Promise<null> {
    return this.stop('paused');
  }

  async cancelTraining(): Promise<null> {
    return this.stop('cancelled');
  }

  /** For the worker's own exit, not the Api: pauses the run in progress, if any, which writes a checkpoint. */
  async pauseForShutdown(): Promise<void> {
    if (this.active) await this.stop('paused');
  }

  /** Runs with a damaged file are left out (`flowdesk runs` names the file and field). */
  async listRuns(): Promise<RunSummary[]> {
    return (await listRuns(this.runsDir)).runs.map(toApiSummary);
  }

  async getRun(req: { runId: string }): Promise<RunDetail> {
    const dir = await this.runDir(req.runId);
    const { rows } = await readMetrics(dir);
    const shown = new Set<string>(['train', 'eval', 'skip'] satisfies MetricRow['type'][]);
    const metrics = rows.filter((r): r is MetricRecord & { type: MetricRow['type'] } => shown.has(r.type)).map((r) => ({
      type: r.type,
      step: r.step,
      time: r.time ?? 0,
      ...(typeof r.loss === 'number' ? { loss: r.loss } : {}),
      ...(r.valBpd !== undefined ? { valBpd: r.valBpd } : {}),
    }));
    const names = await readdir(samplesDir(dir)).catch(() => [] as string[]);
    const sampleSteps = names.map(sampleStepOf).filter((s) => s !== null).sort((a, b) => a - b);
    return { summary: toApiSummary(await summariseRun(dir)), metrics, sampleSteps };
  }

  async getSampleGrid(req: { runId: string; step: number }): Promise<string> {
    const dir = await this.runDir(req.runId);
    const path = samplePath(dir, req.step);
    try {
      return pngDataUrl(await readFile(path));
    } catch {
      throw new FlowDeskError('BAD_ARGUMENT', `Run ${req.runId} has no sample grid for step ${req.step}.`);
    }
  }

  async sample(req: SampleRequest): Promise<SampleGrid> {
    const { model, nBits } = await this.models.forRun(await this.runDir(req.runId));
    const { size, channels } = model.config;
    const images = await runtimeFor(model).sample(req.n, req.temperature, new Rng(req.seed));
    const image = pngDataUrl(await encodeImageGrid(toPixels(images, nBits), req.n, size, channels));
    return { image, n: req.n, outOfRange: imagesOutOfRange(images, req.n) };
  }

  /** The run being trained, if any (for crash reports). */
  activeRunId(): string | null {
    return this.active?.runDir ? basename(this.active.runDir) : null;
  }

  private async launch(knownRunDir: string | null, run: (onEvent: (e: TrainEvent) => void, signal: AbortSignal) => Promise<unknown>): Promise<{ runId: string }> {
    if (this.active) throw new FlowDeskError('BAD_ARGUMENT', 'A run is already training; pause or cancel it first.');
    const controller = new AbortController();
    let started: (id: string) => void = () => undefined;
    const startedPromise = new Promise<string>((resolve) => (started = resolve));
    // runDir stays null until the run starts (its lock held), so a refused resume never marks the run.
    const active: ActiveRun = { runDir: null, controller, stopAs: 'paused', done: Promise.resolve() };
    this.active = active;
    const onEvent = (e: TrainEvent) => {
      if (e.type === 'start') {
        active.runDir = e.runDir;
        void writeRunStatus(e.runDir, { status: 'training' });
        started(basename(e.runDir));
      }
      const event = this.toAppEvent(basename(active.runDir ?? knownRunDir ?? ''), e);
      if (event) this.emit(event);
    };
    const finished = run(onEvent, controller.signal).then(
      async (result) => {
        const r = result as { reason: string; step: number };
        const status = r.reason === 'steps' ? 'finished' : r.reason === 'cancelled' ? active.stopAs : 'paused';
        await writeRunStatus(active.runDir!, { status });
        this.emit({ type: 'train-stopped', runId: basename(active.runDir!), step: r.step, status });
      },
      async (err) => {
        const error = toAppError(err);
        if (active.runDir) {
          await writeRunStatus(active.runDir, { status: 'failed', error }).catch(() => undefined);
          this.emit({ type: 'train-stopped', runId: basename(active.runDir), step: -1, status: 'failed', error });
        }
        throw err;
      },
    );
    active.done = finished.then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      if (this.active === active) this.active = null;
    });
    // Answer once the run exists, or with the error that stopped it before it began.
    return new Promise((resolve, reject) => {
      void startedPromise.then((runId) => resolve({ runId }));
      finished.then(() => reject(new FlowDeskError('INTERNAL', 'Training ended before it started.')), reject);
    });
  }

  private async stop(as: 'paused' | 'cancelled'): Promise<null> {
    const active = this.active;
    if (!active) throw new FlowDeskError('BAD_ARGUMENT', 'No run is training.');
    active.stopAs = as;
    active.controller.abort();
    await active.done;
    return null;
  }

  private toAppEvent(runId: string, e: TrainEvent): AppEvent | null {
    switch (e.type) {
      case 'start':
        return { type: 'train-start', runId, step: e.step, totalSteps: e.totalSteps, backend: e.backend, resumed: e.resumed };
      case 'step':
        return { type: 'train-step', runId, step: e.step, totalSteps: e.totalSteps, loss: e.loss, imgPerSec: e.imgPerSec, elapsed: e.elapsed, eta: e.eta };
      case 'eval':
        return { type: 'train-eval', runId, step: e.step, valBpd: e.valBpd, elapsed: e.elapsed };
      case 'sample':
        return { type: 'train-sample', runId, step: e.step };
      case 'warning':
        return { type: 'train-warning', runId, message: e.message };
      default:
        return null;
    }
  }

  private async runDir(runId: string): Promise<string> {
    return runDirOf(this.runsDir, runId);
  }
}

/** A stored run as the Api's RunSummary: the train settings flattened as the Train view has them. */
function toApiSummary(r: StoredRun): RunSummary {
  return {
    id: r.id,
    created: r.created,
    model: r.run.model as ModelSettings,
    train: trainSettingsOf(r.run.train),
    folder: r.run.data.folder,
    step: r.step,
    checkpointStep: r.checkpointStep,
    lastValBpd: r.lastValBpd,
    status: r.status.status,
  };
}
