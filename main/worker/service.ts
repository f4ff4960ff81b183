// The engine behind the app's Api, living in the worker process: imports, one training run at
// a time (start, pause, cancel, resume) and the queue of runs that follow it, runs on disk, and
// sampling from their checkpoints.
// Results are plain JSON; images travel as PNG data URLs.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { AppEvent, ImportRequest, ImportSummary, QueueState, RunStatus, SampleGrid, SampleRequest, StartRequest } from '../../preload/api.ts';
import { describeBackend, initBackend } from '../engine/backend.ts';
import { encodeImageGrid, imagesOutOfRange, importImageFolder, toPixels } from '../engine/data/index.ts';
import { ALL_CLASSES, SAMPLE_GRID_MAX } from '../../common/class-sampling.ts';
import { ConfigError, FlowDeskError, toAppError } from '../engine/errors.ts';
import { classChoice, type ClassChoice } from '../engine/explore/class-choice.ts';
import { classCountOf, type FlowModel } from '../engine/models/flow-model.ts';
import { Rng } from '../engine/random.ts';
import { runtimeFor } from '../engine/runtime/runtime-for.ts';
import { defaultImageFolder } from '../engine/resources.ts';
import type { TrainEvent } from '../engine/train/train-events.ts';
import { resume, train } from '../engine/train/trainer.ts';
import { summariseRun } from '../engine/runs/run-list.ts';
import { samplePath } from '../engine/runs/run-layout.ts';
import { runDirOf } from '../engine/runs/run-locate.ts';
import { writeRunStatus } from '../engine/runs/run-status.ts';
import type { InteractiveGate } from './interactive-first.ts';
import { classStrips, setStrip } from './import-strips.ts';
import { cancelJob, engineProgress, runJob } from './jobs.ts';
import type { ModelCache } from './model-cache.ts';
import { RunQueue } from './run-queue.ts';
import type { ServiceSlice } from './routes.ts';

function pngDataUrl(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** The classes a sample request draws (classChoice), its errors naming the request's fields. */
function sampleClasses(model: FlowModel, req: SampleRequest): ClassChoice {
  let choice: ClassChoice;
  try {
    choice = classChoice(model, req.className ?? (classCountOf(model) > 0 ? ALL_CLASSES : null), req.n);
  } catch (err) {
    if (err instanceof ConfigError) throw new FlowDeskError('BAD_ARGUMENT', `request.className: ${err.message}`);
    throw err;
  }
  if (choice.count > SAMPLE_GRID_MAX) {
    const classes = choice.count / req.n;
    throw new FlowDeskError('BAD_ARGUMENT', `request.n: ${req.n} images for each of ${classes} classes is ${choice.count}, over ${SAMPLE_GRID_MAX} in one grid; ask for at most ${Math.floor(SAMPLE_GRID_MAX / classes)} per class, or for one class.`);
  }
  return choice;
}

interface ActiveRun {
  runDir: string | null;
  controller: AbortController;
  stopAs: 'paused' | 'cancelled';
  /** How the run ended, once it has. */
  endedAs: RunStatus | null;
  done: Promise<void>;
}

export class EngineService implements ServiceSlice<'engine'> {
  private active: ActiveRun | null = null;
  private readonly queue: RunQueue;
  constructor(
    readonly runsDir: string,
    private readonly emit: (e: AppEvent) => void,
    private readonly models: ModelCache,
    /** Real paths of the allowed roots: every image read for the page must lie inside them. */
    private readonly roots: readonly string[],
    /** Training holds before each step while a request a person waits on runs through it; absent: never holds. */
    private readonly gate?: InteractiveGate,
    /** How often a queue held up by another process's run looks again (tests shorten it). */
    queuePollMs?: number,
  ) {
    this.queue = new RunQueue({ runsDir, emit, start: (req) => this.startTraining(req), busy: () => this.active !== null, pollMs: queuePollMs });
  }

  async backend(): Promise<string> {
    return describeBackend(await initBackend());
  }

  async importFolder(req: ImportRequest): Promise<ImportSummary> {
    const folder = req.folder ?? defaultImageFolder();
    const label = `Importing ${req.folder === null ? 'the bundled digits' : folder}`;
    const { train, val, report } = await runJob(this.emit, { id: req.jobId, kind: 'import', label, total: null }, (progress, signal) =>
      importImageFolder(folder, { size: req.size, channels: req.channels, classes: req.classes, roots: this.roots, signal, onProgress: engineProgress(progress) }),
    );
    const strips = await classStrips(train, val);
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
      thumbnails: pngDataUrl(await setStrip(train)),
      classes: report.classes.map((c, k) => ({ ...c, strip: pngDataUrl(strips[k]) })),
    };
  }

  startTraining(req: StartRequest): Promise<{ runId: string }> {
    return this.launch(null, (onEvent, signal) =>
      train({ folder: req.folder, model: req.model, train: req.train, runsDir: this.runsDir, roots: this.roots, onEvent, signal, yieldTo: this.yieldTo }),
    );
  }

  async resumeTraining(req: { runId: string; steps?: number }): Promise<{ runId: string }> {
    const runDir = await this.runDir(req.runId);
    if ((await summariseRun(runDir)).status.status === 'imported') {
      throw new FlowDeskError('BAD_ARGUMENT', `Run ${req.runId} is an imported model: it came without optimizer state, so it cannot be resumed. Use it in Samples and Explore, or start a new run with its settings.`);
    }
    // The run is known before it starts, so warnings before its first step (steps lost) name it.
    return this.launch(runDir, (onEvent, signal) => resume(runDir, { steps: req.steps, roots: this.roots, onEvent, signal, yieldTo: this.yieldTo }));
  }

  private readonly yieldTo = () => this.gate?.idle() ?? Promise.resolve();

  async pauseTraining(): Promise<null> {
    return this.stop('paused');
  }

  async cancelTraining(): Promise<null> {
    return this.stop('cancelled');
  }

  async cancelJob(req: { jobId: string }): Promise<null> {
    cancelJob(req.jobId);
    return null;
  }

  /** For the worker's own exit, not the Api: pauses the run in progress, if any, which writes a checkpoint; the queue starts nothing more. */
  async pauseForShutdown(): Promise<void> {
    this.queue.stop();
    if (this.active) await this.stop('paused');
  }

  /** For the worker's start-up: starts the queue's next run if nothing trains on this runs folder. */
  startQueue(): Promise<void> {
    return this.queue.advance();
  }

  listQueue(): Promise<QueueState> {
    return this.queue.state();
  }

  addToQueue(req: StartRequest): Promise<QueueState> {
    return this.queue.add(req);
  }

  removeFromQueue(req: { entryId: string }): Promise<QueueState> {
    return this.queue.remove(req.entryId);
  }

  moveInQueue(req: { entryId: string; index: number }): Promise<QueueState> {
    return this.queue.move(req.entryId, req.index);
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

  /** A conditional model draws every class (one row each) unless `className` names one. */
  async sample(req: SampleRequest): Promise<SampleGrid> {
    const { model, nBits } = await this.models.forRun(await this.runDir(req.runId));
    const { size, channels } = model.config;
    const { count, rows, cols, rowLabels } = sampleClasses(model, req);
    const images = await runtimeFor(model).sample(count, req.temperature, new Rng(req.seed), rows, req.guidance);
    const image = pngDataUrl(await encodeImageGrid(toPixels(images, nBits), count, size, channels, cols));
    return { image, n: count, outOfRange: imagesOutOfRange(images, count), ...(rowLabels ? { rowLabels } : {}) };
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
    const active: ActiveRun = { runDir: null, controller, stopAs: 'paused', endedAs: null, done: Promise.resolve() };
    this.active = active;
    // The run's last word waits for this: a "training" landing after it would read as paused.
    let markedTraining = Promise.resolve();
    const onEvent = (e: TrainEvent) => {
      if (e.type === 'start') {
        active.runDir = e.runDir;
        markedTraining = writeRunStatus(e.runDir, { status: 'training' }).catch(() => undefined); // the live lock says training anyway
        started(basename(e.runDir));
      }
      const dir = active.runDir ?? knownRunDir;
      const event = this.toAppEvent(dir === null ? null : basename(dir), e);
      if (event) this.emit(event);
    };
    // The run is over once `run` settles (its lock released): a new one may start from then on,
    // even before its last status is written, which a client may read and act on at once.
    const over = () => {
      if (this.active === active) this.active = null;
    };
    const finished = run(onEvent, controller.signal).then(
      async (result) => {
        over();
        const r = result as { reason: string; step: number };
        const status = r.reason === 'steps' ? 'finished' : r.reason === 'cancelled' ? active.stopAs : 'paused';
        active.endedAs = status;
        await markedTraining;
        await writeRunStatus(active.runDir!, { status });
        this.emit({ type: 'train-stopped', runId: basename(active.runDir!), step: r.step, status });
      },
      async (err) => {
        over();
        const error = toAppError(err);
        if (active.runDir) {
          active.endedAs = 'failed';
          await markedTraining;
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
      // A run that finished or failed hands over to the queue; a paused or cancelled one was a person's stop.
      if (active.endedAs === 'finished' || active.endedAs === 'failed') void this.queue.advance();
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

  /** `runId` is null only before a new run's folder exists: only phases come then. */
  private toAppEvent(known: string | null, e: TrainEvent): AppEvent | null {
    if (e.type === 'phase') return { type: 'train-phase', runId: known, phase: e.phase };
    const runId = known ?? '';
    switch (e.type) {
      case 'start':
        return { type: 'train-start', runId, step: e.step, totalSteps: e.totalSteps, backend: e.backend, resumed: e.resumed };
      case 'step':
        return { type: 'train-step', runId, step: e.step, totalSteps: e.totalSteps, loss: e.loss, imgPerSec: e.imgPerSec, elapsed: e.elapsed, eta: e.eta };
      case 'eval':
        return { type: 'train-eval', runId, step: e.step, valBpd: e.valBpd, elapsed: e.elapsed, ...(e.classes ? { classes: e.classes } : {}) };
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
