// The training loop: start a run or resume one from its last whole checkpoint, then step,
// evaluate, draw fixed-seed sample grids and checkpoint until the step or time budget ends,
// cancel is asked. Evaluations and sample grids use the moving average of the weights (kept in
// every checkpoint), and the best-validation weights are kept in checkpoints/best/. The run is
// also evaluated when its training clock passes each time mark (common/time-marks.ts). Too many
// non-finite steps in a row roll the run back to its last checkpoint with half the learning
// rate; if that keeps happening, training stops with a clear error.
import { join } from 'node:path';
import * as tf from '../tf.ts';
import type { BackendName, BackendReport } from '../backend.ts';
import { latestCheckpoint, readCheckpoint, removeStaleTemporaries, writeBestWeights, writeCheckpoint, type CheckpointData } from '../checkpoint/checkpoint-store.ts';
import { ioCause } from '../checkpoint/io-cause.ts';
import { acquireRunLock } from '../checkpoint/run-lock.ts';
import { importImageFolder, toPixels, writeImageGrid, type ImageSet, type ImportOptions, type ImportReport } from '../data/index.ts';
import type { NamedArray } from '../checkpoint/safetensors.ts';
import { ConfigError, CheckpointError, TrainError } from '../errors.ts';
import { classRows } from '../data/one-hot.ts';
import { appliesTo } from '../../../common/settings/field.ts';
import { modelFields } from '../../../common/settings/model-fields.ts';
import { noiseAugmentation } from '../../../common/bits-per-dim-label.ts';
import { resolveModelConfig, type ModelConfig, type ResolvedModelConfig } from '../models/config.ts';
import { createModel } from '../models/create-model.ts';
import { classCountOf, scoringNoiseOf, scoringNoiseTensors, trainingLossKindOf, type ClassLabels, type FlowModel } from '../models/flow-model.ts';
import { exportWeights, importWeights, loadModel, modelJson, parseModelJson } from '../models/model-io.ts';
import { throttledProgress } from '../progress.ts';
import { Rng } from '../random.ts';
import type { ComputeRuntime } from '../runtime/compute-runtime.ts';
import { runtimeFor, startBackend } from '../runtime/runtime-for.ts';
import { defaultImageFolder } from '../resources.ts';
import { defaultRunsDir } from '../app-paths.ts';
import { createRunDir } from '../runs/create-run.ts';
import { writeImportReport } from '../runs/import-report.ts';
import { appendMetric, readMetrics, truncateMetricsAfter } from '../runs/metrics.ts';
import { markResultsOf } from '../runs/time-mark-rows.ts';
import { readRunJson, RUN_FORMAT, RUN_VERSION, writeRunJson, type RunJson } from '../runs/run-json.ts';
import { EMA_FILE, MODEL_JSON, samplePath, WEIGHTS_FILE } from '../runs/run-layout.ts';
import { weightsMeta } from '../runs/weights-meta.ts';
import { FLOWDESK_VERSION } from '../version.ts';
import { flipsImages, type ClassMode } from '../../../common/settings/train-fields.ts';
import { drawValues, mixSeed, trainingBatch, trainingInputs } from './batches.ts';
import { classMetrics, classScoresOfSet } from './class-evaluate.ts';
import { meanBitsPerDim } from './evaluate.ts';
import { Optimizer, type StepOutcome } from './optimizer.ts';
import { EtaEstimator } from './eta.ts';
import { stepSource, type StepSource } from './step-source.ts';
import { MarkSchedule, timeMarks } from './time-marks.ts';
import { readStoredTrainConfig, resolveTrainConfig, type TrainConfig } from './train-config.ts';
import type { ClassEval, StopReason, TrainEvent, TrainResult } from './train-events.ts';
import { flatValues, WeightAverage } from './weight-average.ts';

/** What a session reports to its caller and hears from it. */
export interface SessionHooks {
  onEvent?: (e: TrainEvent) => void;
  signal?: AbortSignal;
  /**
   * Awaited before every step: the app's worker holds it while a request a person waits on runs
   * (main/worker/interactive-first.ts), so that request is not slowed by training. Absent: never waits.
   */
  yieldTo?: () => Promise<void>;
}

export interface TrainOptions extends SessionHooks {
  /** Folder of images; null trains on the bundled digits. */
  folder: string | null;
  /** Model settings; `size` and `channels` also set how images are imported. */
  model: ModelConfig;
  train?: TrainConfig;
  /** Parent folder of run folders. Defaults to the per-user runs folder (app-paths.ts). */
  runsDir?: string;
  /** Name of the run folder. Defaults to a timestamp and the model kind. */
  name?: string;
  /** Force a compute backend instead of the first that loads. */
  backend?: BackendName;
  /** Cache of decoded image folders; null disables it. Defaults to the data module's default. */
  cacheDir?: string | null;
  /** Real paths of the folders images may come from (the app's allowed roots); absent in the CLI. */
  roots?: readonly string[];
}

export interface ResumeOptions extends SessionHooks {
  /** New total step count (to extend a finished run). Defaults to the run's own. */
  steps?: number;
  /** New wall-clock budget in minutes for this session. Defaults to the run's own. */
  minutes?: number | null;
  backend?: BackendName;
  cacheDir?: string | null;
  roots?: readonly string[];
}

/** A run being trained: it has a backend. */
type LiveRun = RunJson & { backend: BackendReport };

interface Session {
  runDir: string;
  run: LiveRun;
  model: FlowModel;
  /** Where the model's compute runs, chosen once from the run's backend. */
  runtime: ComputeRuntime;
  optimizer: Optimizer;
  /** The moving average of the weights; null when the run's emaDecay is 0 (averaging off). */
  average: WeightAverage | null;
  trainSet: ImageSet;
  valSet: ImageSet;
  step: number;
  /** Seconds spent training before this session (from the checkpoint). */
  elapsedBefore: number;
  /** When this session's part of the training clock began (ms): as train() or resume() was called, so setup counts. */
  clockStart: number;
  /** The time marks still to answer. */
  marks: MarkSchedule;
  /** The step last evaluated in full (best weights, sample grid) this session, so a time budget's end does not evaluate it twice. */
  lastEvalStep: number | null;
  initialValBpd: number | null;
  lastValBpd: number | null;
  /** The lowest validation bits per dim so far (its weights are in checkpoints/best/). */
  bestValBpd: number | null;
  /** Where steps are computed, made at the first step of this session. */
  steps?: StepSource;
}

async function importData(folder: string | null, size: number, channels: 1 | 3, classes: ClassMode, opts: Pick<ImportOptions, 'cacheDir' | 'roots' | 'signal'>) {
  const path = folder ?? defaultImageFolder();
  const imported = await importImageFolder(path, { size, channels, classes, cacheDir: opts.cacheDir, roots: opts.roots, signal: opts.signal });
  return { path, ...imported };
}

function dataSummary(path: string, bundled: boolean, report: ImportReport): RunJson['data'] {
  return { folder: path, bundled, fingerprint: report.fingerprint, train: report.train, val: report.val, skipped: report.skipped.length };
}

/**
 * The classes a model trained on `set` has: the set's (names, and frequencies as p(y)) for a kind
 * that can be conditional (the `classes` field applies) on a labelled set; none otherwise.
 */
function classLabelsFor(config: ResolvedModelConfig, set: ImageSet): ClassLabels | null {
  if (!appliesTo(modelFields.classes, config.kind) || !set.labels || set.classes.length === 0) return null;
  const counts = new Array<number>(set.classes.length).fill(0);
  for (const label of set.labels) counts[label] += 1;
  return { names: [...set.classes], frequencies: counts.map((n) => n / set.count) };
}

/** Starts a new run in a fresh run folder. */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const clockStart = Date.now();
  const cfg = resolveTrainConfig(opts.train);
  const marks = new MarkSchedule(timeMarks(), new Set(), 0);
  const backend = await startBackend(opts.backend);
  const config = resolveModelConfig(opts.model);
  opts.onEvent?.({ type: 'phase', phase: 'loading-images' });
  const data = await importData(opts.folder, config.size, config.channels, cfg.classes, opts);
  // The classes come from the data, never from the person (the setting is derived).
  const labels = classLabelsFor(config, data.train);
  const conditional = appliesTo(modelFields.classes, config.kind);
  if (!conditional && data.train.labels) {
    opts.onEvent?.({ type: 'warning', step: 0, message: `${config.kind} models have no class conditioning yet: this one trains on every class of ${data.path} as one set.` });
  }
  const model = createModel(conditional ? ({ ...config, classes: labels?.names.length ?? 0 } as ModelConfig) : config, cfg.seed);
  model.classLabels = labels;
  try {
    const runDir = await createRunDir(opts.runsDir ?? defaultRunsDir(), opts.name);
    const lock = await acquireRunLock(runDir);
    const run: LiveRun = {
      format: RUN_FORMAT,
      version: RUN_VERSION,
      name: runDir.split(/[\\/]/).pop()!,
      created: new Date().toISOString(),
      model: model.config,
      train: cfg,
      data: dataSummary(data.path, opts.folder === null, data.report),
      backend,
      versions: { flowdesk: FLOWDESK_VERSION, tfjs: tf.version_core, node: process.versions.node },
    };
    const optimizer = new Optimizer(cfg.optimizer, model.params.variables);
    const average = averageFor(cfg, model);
    try {
      await writeRunJson(runDir, run);
      await writeImportReport(runDir, data.report);
      const session: Session = {
        runDir, run, model, runtime: runtimeFor(model, { backend: backend.name, threads: cfg.threads }), optimizer, average,
        trainSet: data.train, valSet: data.val, step: 0, elapsedBefore: 0, clockStart, marks, lastEvalStep: null, initialValBpd: null, lastValBpd: null, bestValBpd: null,
      };
      return await runSession(session, false, data.report, opts);
    } finally {
      optimizer.dispose();
      await lock.release();
    }
  } finally {
    model.dispose();
  }
}

/**
 * Continues a run from its last whole checkpoint. Nothing in the run folder changes before its
 * lock is held: a resume refused because another process trains the run leaves it untouched.
 */
export async function resume(runDir: string, opts: ResumeOptions = {}): Promise<TrainResult> {
  await readRunJson(runDir); // a folder that is not a run (or a damaged one) gets no lock file
  const lock = await acquireRunLock(runDir);
  try {
    return await resumeLocked(runDir, Date.now(), opts);
  } finally {
    await lock.release();
  }
}

async function resumeLocked(runDir: string, clockStart: number, opts: ResumeOptions): Promise<TrainResult> {
  const marks = timeMarks();
  const stored = await readRunJson(runDir);
  const cfg = readStoredTrainConfig(stored.train, {
    steps: opts.steps ?? stored.train.steps,
    minutes: opts.minutes === undefined ? stored.train.minutes : opts.minutes,
  });
  const latest = await latestCheckpoint(runDir);
  if (!latest) throw new CheckpointError('NO_CHECKPOINT', `Run ${runDir} has no whole checkpoint to resume from; start a new run instead.`);
  const backend = await startBackend(opts.backend);
  const ckpt = await readCheckpoint(latest.dir);
  const model = loadModel(parseModelJson(ckpt.model, join(latest.dir, MODEL_JSON)), ckpt.weights, join(latest.dir, WEIGHTS_FILE));
  const optimizer = new Optimizer(cfg.optimizer, model.params.variables);
  const average = averageFor(cfg, model);
  try {
    optimizer.importState(ckpt.optimizer, ckpt.optimizerMeta ?? {}, join(latest.dir, 'optimizer.safetensors'));
    // A checkpoint without an average (written before averaging, or with it off) starts one from its weights.
    if (ckpt.ema) average?.importState(ckpt.ema.tensors, ckpt.ema.meta, join(latest.dir, EMA_FILE));
    opts.onEvent?.({ type: 'phase', phase: 'loading-images' });
    const data = await importData(stored.data.bundled ? null : stored.data.folder, model.config.size, model.config.channels, cfg.classes, opts);
    checkSameClasses(model, data.train, data.path);
    const run: LiveRun = { ...stored, train: cfg, backend };
    await writeRunJson(runDir, run);
    await writeImportReport(runDir, data.report);
    const state = ckpt.state;
    const { rows } = await readMetrics(runDir);
    const elapsedBefore = state.elapsed ?? 0;
    // The marks answered up to the checkpoint; answers after it are dropped with their rows and come again.
    const answered = new Set(markResultsOf(rows.filter((r) => r.step <= latest.step)).keys());
    const session: Session = {
      runDir, run, model, runtime: runtimeFor(model, { backend: backend.name, threads: cfg.threads }), optimizer, average,
      trainSet: data.train, valSet: data.val, step: latest.step, elapsedBefore, clockStart, marks: new MarkSchedule(marks, answered, elapsedBefore), lastEvalStep: null,
      initialValBpd: state.initialValBpd ?? null, lastValBpd: state.valBpd ?? null, bestValBpd: state.bestValBpd ?? null,
    };
    // Steps logged after the last checkpoint died with the process that trained them: say so.
    const lost = lastLoggedStep(rows) - latest.step;
    if (lost > 0) {
      opts.onEvent?.({ type: 'warning', step: latest.step, message: `Resumed from step ${latest.step}; ${lost} step${lost === 1 ? '' : 's'} since the last checkpoint ${lost === 1 ? 'was' : 'were'} lost.` });
    }
    const dropped = await truncateMetricsAfter(runDir, latest.step);
    if (dropped) opts.onEvent?.({ type: 'warning', step: latest.step, message: dropped });
    if (data.report.fingerprint !== stored.data.fingerprint) {
      opts.onEvent?.({ type: 'warning', step: latest.step, message: `The images in ${data.path} changed since this run started; training continues on the folder as it is now.` });
    }
    return await runSession(session, true, data.report, opts);
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

/** A conditional run resumes only on a folder with the classes it was trained on, in the same order. */
function checkSameClasses(model: FlowModel, set: ImageSet, folder: string): void {
  const names = model.classLabels?.names ?? [];
  if (names.length === 0 || names.join('\n') === set.classes.join('\n')) return;
  const shown = (list: readonly string[]) => (list.length ? list.join(', ') : 'none');
  throw new ConfigError(
    'BAD_CONFIG',
    `The classes in ${folder} (${shown(set.classes)}) are not those this conditional model was trained on (${shown(names)}); restore the sub-folders, or start a new run.`,
  );
}

function averageFor(cfg: LiveRun['train'], model: FlowModel): WeightAverage | null {
  return cfg.emaDecay > 0 ? new WeightAverage(cfg.emaDecay, model.params.variables) : null;
}

function lastLoggedStep(rows: readonly Record<string, unknown>[]): number {
  return rows.reduce((last, r) => (r.type === 'train' && typeof r.step === 'number' && r.step > last ? r.step : last), 0);
}

async function runSession(s: Session, resumed: boolean, report: ImportReport, { onEvent, signal, yieldTo }: SessionHooks): Promise<TrainResult> {
  const emit = (e: TrainEvent) => onEvent?.(e);
  const cfg = s.run.train;
  try {
    // Half-written checkpoints of a killed earlier session: never loaded, only in the way.
    await removeStaleTemporaries(s.runDir);
    emit({
      type: 'start', runDir: s.runDir, step: s.step, totalSteps: cfg.steps, backend: s.run.backend.name, resumed,
      trainImages: s.trainSet.count, valImages: s.valSet.count, skipped: report.skipped, classes: report.classes,
    });
    // The training clock: every second since train() or resume() was called counts, setup included.
    const elapsed = () => s.elapsedBefore + (Date.now() - s.clockStart) / 1000;
    const timeUp = () => cfg.minutes !== null && elapsed() >= cfg.minutes * 60;
    if (!resumed) {
      emit({ type: 'phase', phase: 'initialising' });
      initialiseFromData(s);
      s.average?.restart(); // the average starts from the initialised weights, not the random ones
      s.initialValBpd = await evaluateAndSample(s, elapsed(), emit);
      // The initialised, untrained model: a baseline to evaluate against and to resume from.
      await checkpoint(s, elapsed, emit);
    }
    let reason: StopReason = 'steps';
    let nonFiniteInRow = 0;
    let rollbacks = 0;
    let rate = 0;
    const eta = new EtaEstimator();
    const sessionStart = s.step;
    while (s.step < cfg.steps) {
      if (signal?.aborted) {
        reason = 'cancelled';
        break;
      }
      if (timeUp()) {
        reason = 'time';
        break;
      }
      await yieldTo?.();
      if (signal?.aborted) continue;
      const t0 = Date.now();
      const { loss, gradNorm, lr, applied } = await trainStep(s, emit);
      s.step += 1;
      const seconds = Math.max((Date.now() - t0) / 1000, 1e-6);
      rate = rate === 0 ? cfg.batch / seconds : 0.9 * rate + 0.1 * (cfg.batch / seconds);
      eta.stepEnded(Date.now() / 1000);
      if (!applied) {
        nonFiniteInRow += 1;
        const message = `step ${s.step} skipped: loss ${loss}, gradient norm ${gradNorm} (not finite)`;
        emit({ type: 'warning', step: s.step, message });
        await appendMetric(s.runDir, { type: 'skip', step: s.step, loss: String(loss), gradNorm: String(gradNorm) });
        if (nonFiniteInRow >= cfg.maxNonFinite) {
          if (rollbacks >= cfg.maxRollbacks) {
            throw new TrainError(
              'NON_FINITE',
              `Training stopped at step ${s.step}: ${nonFiniteInRow} steps in a row had a non-finite loss or gradient` +
                (rollbacks > 0 ? `, even after ${rollbacks} rollback(s) to the last checkpoint, the learning rate now ${s.optimizer.learningRate()}` : '') +
                `. Lower the learning rate (set to ${cfg.optimizer.lr}) or the clip norm, and resume from the last checkpoint.`,
            );
          }
          rollbacks += 1;
          await rollBack(s, nonFiniteInRow, emit);
          nonFiniteInRow = 0;
        }
        continue;
      }
      nonFiniteInRow = 0;
      const timeLeft = cfg.minutes !== null ? cfg.minutes * 60 - elapsed() : Infinity;
      const lossKind = trainingLossKindOf(s.model);
      emit({ type: 'step', step: s.step, totalSteps: cfg.steps, loss, lossKind, lr, gradNorm, imgPerSec: rate, elapsed: elapsed(), eta: eta.secondsLeft(cfg.steps - s.step, timeLeft) });
      await appendMetric(s.runDir, { type: 'train', step: s.step, loss, lossKind, lr, gradNorm, imgPerSec: rate, time: elapsed() });
      if (s.step % cfg.evalEvery === 0 || s.step === cfg.steps) s.lastValBpd = await evaluateAndSample(s, elapsed(), emit);
      // A spent budget's last evaluation (below) answers the marks it finds passed.
      if (!timeUp()) await answerMarks(s, elapsed, emit);
      if (s.step % cfg.checkpointEvery === 0 || s.step === cfg.steps) await checkpoint(s, elapsed, emit);
    }
    if (reason !== 'steps' && s.step > sessionStart) {
      // A spent time budget is the run's end: its result (the averaged model) is evaluated.
      if (reason === 'time' && s.lastEvalStep !== s.step) s.lastValBpd = await evaluateAndSample(s, elapsed(), emit);
      // Stopped early: keep everything since the last checkpoint.
      await checkpoint(s, elapsed, emit);
    }
    emit({ type: 'done', step: s.step, reason, runDir: s.runDir, valBpd: s.lastValBpd });
    return { runDir: s.runDir, step: s.step, reason, valBpd: s.lastValBpd, initialValBpd: s.initialValBpd };
  } finally {
    await s.steps?.dispose();
  }
}

/**
 * ActNorm's data-dependent initialisation from the first `initImages` of a seeded order, with
 * their scoring noise drawn from the same seed (a restoration model's degradations; none for most models).
 */
function initialiseFromData(s: Session): void {
  const cfg = s.run.train;
  const n = Math.min(cfg.initImages, s.trainSet.count);
  const { size, channels } = s.model.config;
  const x = trainingBatch(s.trainSet, n, cfg.nBits, mixSeed(cfg.seed, 99), 0);
  const noise = drawValues(scoringNoiseOf(s.model), n, new Rng(mixSeed(cfg.seed, 99, 1)));
  tf.tidy(() => s.model.initialise(tf.tensor4d(x, [n, size, size, channels]), scoringNoiseTensors(s.model, noise, n)));
}

/**
 * One step of the run: the runtime's update of the weights and moments (skipped when not finite).
 * Every change to the weights during training happens here.
 */
async function trainStep(s: Session, emit: (e: TrainEvent) => void): Promise<StepOutcome> {
  const cfg = s.run.train;
  const data = trainingBatch(s.trainSet, cfg.batch, cfg.nBits, cfg.seed, s.step, flipsImages(cfg.flip, s.trainSet.channels), noiseAugmentation(s.model.config));
  if (!s.steps) {
    // The session's first step: the step is traced (onnx) or compiled before it runs.
    emit({ type: 'phase', phase: 'preparing-backend' });
    s.steps = await stepSource(s.runtime, cfg, s.optimizer);
    emit({ type: 'phase', phase: 'first-step' });
  }
  // The model's own training noise (flow matching's x0 and t), drawn from (seed, step) like the rest, and a conditional model's classes.
  const outcome = await s.steps.update(data, trainingInputs(s.model, s.trainSet, cfg.batch, cfg.seed, s.step));
  // Every runtime leaves the new weights in the model's variables after an applied step.
  if (outcome.applied) s.average?.update(outcome.weights ?? flatValues(s.model.params.variables.values()));
  return outcome;
}

/**
 * Evaluates at every time mark the clock has passed and records only that: no best weights, sample
 * grid or last validation, so what a run leaves never depends on its pace. Returns the clock after.
 * Called before every checkpoint, so every mark its clock has passed is answered at a step it keeps:
 * a resume from it finds the answers, and answers again the marks after it (their rows are dropped
 * and the clock rewinds).
 */
async function answerMarks(s: Session, elapsed: () => number, emit: (e: TrainEvent) => void): Promise<number> {
  for (;;) {
    const now = elapsed();
    const marks = s.marks.take(now);
    if (!marks.length) return now;
    await recordEval(s, await withEvaluatedWeights(s, () => validate(s, emit)), now, marks, emit);
  }
}

/** Runs `work` with the averaged weights in the model (the last ones when averaging is off). */
function withEvaluatedWeights<T>(s: Session, work: () => Promise<T>): Promise<T> {
  return s.average ? s.average.swappedIn(work) : work();
}

/** What the model's weights now are, for the eval row and the best weights' metadata. */
function currentWeights(s: Session): { used: 'avg' | 'last'; decay: number | null } {
  return s.average ? { used: 'avg', decay: s.average.decay } : { used: 'last', decay: null };
}

/** A validation's figures: bits per dim (given the class, for a conditional model) and a conditional model's others. */
interface Validation {
  valBpd: number;
  classes?: ClassEval;
}

/**
 * Validation bits per dim, with progress events (flow matching's takes minutes). A conditional
 * model's is given each image's true class, as it trains; its unconditional bits per dim and
 * accuracy come from the same pass.
 */
async function validate(s: Session, emit: (e: TrainEvent) => void): Promise<Validation> {
  const cfg = s.run.train;
  const total = Math.min(cfg.valImages, s.valSet.count);
  const progress = throttledProgress((p) => emit({ type: 'eval-progress', step: s.step, progress: p }), total, 'validation');
  const opts = { nBits: cfg.nBits, limit: cfg.valImages, seed: mixSeed(cfg.seed, 7), onBatch: (done: number) => progress(done) };
  if (classCountOf(s.model) === 0) return { valBpd: await meanBitsPerDim(s.model, s.valSet, opts) };
  const metrics = classMetrics(await classScoresOfSet(s.model, s.valSet, opts));
  return { valBpd: metrics.conditionalBpd ?? metrics.unconditionalBpd, classes: { unconditionalBpd: metrics.unconditionalBpd, accuracy: metrics.accuracy } };
}

/** The eval event and metrics row; `marks`: the time marks (minutes) the evaluation answers. */
async function recordEval(s: Session, { valBpd, classes }: Validation, elapsed: number, marks: number[], emit: (e: TrainEvent) => void): Promise<void> {
  const weights = currentWeights(s).used;
  emit({ type: 'eval', step: s.step, valBpd, elapsed, weights, marks, ...(classes ? { classes } : {}) });
  const classFigures = classes ? { valBpdUnconditional: classes.unconditionalBpd, valAccuracy: classes.accuracy } : {};
  await appendMetric(s.runDir, { type: 'eval', step: s.step, valBpd, time: elapsed, weights, ...classFigures, ...(marks.length ? { marks } : {}) });
}

/**
 * Evaluates and draws the sample grid with the averaged weights (the last ones when averaging is
 * off), keeping the best weights; the row also answers the time marks `elapsed` has passed.
 */
function evaluateAndSample(s: Session, elapsed: number, emit: (e: TrainEvent) => void): Promise<number> {
  return withEvaluatedWeights(s, () => evaluateAndSampleCurrent(s, elapsed, emit));
}

async function evaluateAndSampleCurrent(s: Session, elapsed: number, emit: (e: TrainEvent) => void): Promise<number> {
  const cfg = s.run.train;
  const validation = await validate(s, emit);
  const { valBpd } = validation;
  s.lastEvalStep = s.step;
  await recordEval(s, validation, elapsed, s.marks.take(elapsed), emit);
  if (s.bestValBpd === null || valBpd < s.bestValBpd) {
    s.bestValBpd = valBpd;
    const meta = weightsMeta({ used: 'best', step: s.step, decay: currentWeights(s).decay, valBpd });
    await writeBestWeights(s.runDir, modelJson(s.model, cfg.nBits), exportWeights(s.model), meta);
  }
  const { size, channels } = s.model.config;
  // A conditional model's grid has one row per class, of about sampleCount / classes images.
  const classes = classCountOf(s.model);
  const perClass = Math.max(1, Math.round(cfg.sampleCount / Math.max(1, classes)));
  const count = classes > 0 ? classes * perClass : cfg.sampleCount;
  const rows = classes > 0 ? classRows(classes, perClass) : undefined;
  const pixels = toPixels(await s.runtime.sample(count, cfg.sampleTemperature, new Rng(mixSeed(cfg.seed, 3)), rows), cfg.nBits);
  const path = samplePath(s.runDir, s.step);
  try {
    await writeImageGrid(path, pixels, count, size, channels, classes > 0 ? perClass : undefined);
  } catch (err) {
    throw new CheckpointError('IO_ERROR', `Cannot save the sample grid ${path}: ${ioCause(err)}. Free some space or fix the folder's permissions, then resume.`);
  }
  emit({ type: 'sample', step: s.step, path });
  return valBpd;
}

/**
 * After a run of non-finite steps: back to the last whole checkpoint with half the learning
 * rate, so a diverging run recovers by itself overnight instead of stopping.
 */
async function rollBack(s: Session, badSteps: number, emit: (e: TrainEvent) => void): Promise<void> {
  const failedAt = s.step;
  const latest = await latestCheckpoint(s.runDir);
  if (!latest) throw new CheckpointError('NO_CHECKPOINT', `Run ${s.runDir} has no whole checkpoint to roll back to after ${badSteps} non-finite steps.`);
  const ckpt = await readCheckpoint(latest.dir);
  const lrScale = s.optimizer.lrScale / 2;
  importWeights(s.model, ckpt.weights, join(latest.dir, WEIGHTS_FILE));
  s.optimizer.importState(ckpt.optimizer, ckpt.optimizerMeta ?? {}, join(latest.dir, 'optimizer.safetensors'));
  if (ckpt.ema) s.average?.importState(ckpt.ema.tensors, ckpt.ema.meta, join(latest.dir, EMA_FILE));
  else s.average?.restart();
  s.optimizer.lrScale = lrScale;
  const state = ckpt.state;
  s.step = latest.step;
  s.lastEvalStep = null;
  s.lastValBpd = state.valBpd ?? s.lastValBpd;
  s.bestValBpd = state.bestValBpd ?? s.bestValBpd;
  await truncateMetricsAfter(s.runDir, latest.step);
  await appendMetric(s.runDir, { type: 'rollback', step: latest.step, failedAt, badSteps, lrScale });
  const message =
    `${badSteps} steps in a row up to step ${failedAt} had a non-finite loss or gradient: ` +
    `rolled back to the checkpoint at step ${latest.step} and halved the learning rate to ${s.run.train.optimizer.lr * lrScale}.`;
  emit({ type: 'warning', step: latest.step, message });
}

/** ema.safetensors: the averaged weights, with the model's buffers, so it loads as a weights file. */
function averagedWeights(s: Session, weights: Record<string, NamedArray>): CheckpointData['ema'] {
  if (!s.average) return undefined;
  const { tensors, meta } = s.average.exportState();
  return { tensors: { ...weights, ...tensors }, meta: { ...meta, ...weightsMeta({ used: 'avg', step: s.step, decay: s.average.decay, valBpd: null }) } };
}

async function checkpoint(s: Session, clock: () => number, emit: (e: TrainEvent) => void): Promise<void> {
  const elapsed = await answerMarks(s, clock, emit);
  const opt = s.optimizer.exportState();
  const weights = exportWeights(s.model);
  const dir = await writeCheckpoint(
    s.runDir,
    {
      step: s.step,
      model: modelJson(s.model, s.run.train.nBits),
      weights,
      weightsMeta: weightsMeta({ used: 'last', step: s.step, decay: null, valBpd: null }),
      optimizer: opt.tensors,
      optimizerMeta: opt.meta,
      ema: averagedWeights(s, weights),
      state: { step: s.step, elapsed, valBpd: s.lastValBpd, initialValBpd: s.initialValBpd, bestValBpd: s.bestValBpd },
    },
    { keep: s.run.train.keepCheckpoints },
  );
  emit({ type: 'checkpoint', step: s.step, dir });
}
