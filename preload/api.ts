// The one contract between the renderer and the rest of FlowDesk. Both transports (Electron IPC
// and browser mode's HTTP + WebSocket) implement it; the renderer imports only these types.
import type { ModelKind } from '../common/settings/field.ts';
import type { ModelSettings } from '../common/settings/model-fields.ts';
import type { ClassMode, TrainSettings } from '../common/settings/train-fields.ts';
import type { ExportFormat } from '../common/export-formats.ts';
import type { WeightsInfo } from '../common/weights.ts';
import type { TimeMarkResult } from '../common/time-marks.ts';
import type { TrainPhase } from '../common/train-phases.ts';
import type { LabFlowName, LabTargetSpec } from '../common/lab/lab-catalog.ts';
import type { LabSettings } from '../common/lab/lab-fields.ts';
import type { LabResult } from '../common/lab/lab-result.ts';
import type { MaskBits } from '../common/mask-bits.ts';
import type { RestoreSettings, UpscaleFactor } from '../common/restore-fields.ts';

export interface AppError {
  /** Stable code a program can test, e.g. NO_FOLDER, BAD_ARGUMENT. */
  code: string;
  /** What went wrong and what to do, for a person. */
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: AppError };
export type Unsubscribe = () => void;

export interface AppInfo {
  version: string;
  mode: 'electron' | 'browser';
  platform: string;
  /** Folder where runs are kept. */
  runsDir: string;
  /** Compute backend in use and why others were skipped (null until the worker reports). */
  backend: string | null;
}

// Model and training settings (defaults, bounds, help) are declared once, in common/settings/.
export type { ModelKind, ModelSettings, TrainSettings, TrainPhase };
// Which weights a model is loaded with (averaged, last, best): common/weights.ts.
export type { WeightsInfo };

/** What a long call is doing, for the job events that report it. */
export type JobKind = 'import' | 'direction' | 'rank' | 'project' | 'encode' | 'export' | 'restore';

export type JobState = 'running' | 'done' | 'failed' | 'cancelled';

/** A long call's progress: pushed as a `job` event, at most ~10 times a second per job, and once when it ends. */
export interface JobProgress {
  /** The `jobId` the request carried (or one the worker chose). */
  id: string;
  kind: JobKind;
  /** What is being done, for a person. */
  label: string;
  done: number;
  /** null while not yet known (e.g. while a folder is still being scanned). */
  total: number | null;
  /** Units per second so far, or null before there is one. */
  rate: number | null;
  /** Seconds left at that rate, or null while unknown. */
  eta: number | null;
  state: JobState;
  error?: AppError;
}

/**
 * A long call's request may name its job (letters, digits, `-`, `_`; at most 64), chosen by the
 * page, so it can follow its progress and cancel it; a cancelled call answers CANCELLED.
 */
export interface JobRequest {
  jobId?: string;
}

export interface ImportRequest extends JobRequest {
  /** Folder of images, or null for the bundled digits. */
  folder: string | null;
  size: number;
  channels: 1 | 3;
  /** Classes from the folder's sub-folders (the train setting `classes`). Defaults to 'none'. */
  classes?: ClassMode;
}

/** One class of an import: its images on each side of the split and a strip of them. */
export interface ImportClass {
  name: string;
  train: number;
  val: number;
  /** A PNG data URL of up to 8 images of the class side by side, a seeded random sample. */
  strip: string;
}

export interface ImportSummary {
  folder: string;
  bundled: boolean;
  found: number;
  used: number;
  train: number;
  val: number;
  skipped: { path: string; reason: string }[];
  fromCache: boolean;
  seconds: number;
  /** A PNG data URL of up to 16 imported images side by side, a seeded random sample of the set. */
  thumbnails: string;
  /** The classes in index order; [] when the import is unlabelled. */
  classes: ImportClass[];
}

export interface StartRequest {
  folder: string | null;
  model: ModelSettings;
  train: TrainSettings;
}

/** A run waiting in the queue of the runs folder (queue.json): the settings it will start with. */
export interface QueuedRun extends StartRequest {
  /** The entry's id (the run gets its own id when it starts). */
  id: string;
  /** When it was queued (ISO 8601). */
  added: string;
}

export interface QueueState {
  /** In the order they start. */
  entries: QueuedRun[];
  /** Why the next entry waits (another process trains on this runs folder); null when it need not. */
  waiting: string | null;
  /** The last entry this session that could not start, and why (the one after it started instead); null if none failed. */
  failed: { entry: QueuedRun | null; error: AppError } | null;
}

/** 'imported': a model added from an export that has not trained here; it has no optimizer state, so it cannot be resumed. */
export type RunStatus = 'training' | 'paused' | 'finished' | 'cancelled' | 'failed' | 'imported';

export interface RunSummary {
  id: string;
  created: string;
  model: ModelSettings;
  train: TrainSettings;
  folder: string;
  step: number;
  /** Step of the newest checkpoint, which Samples and Explore load; null before the first. */
  checkpointStep: number | null;
  lastValBpd: number | null;
  /** A conditional run's last unconditional validation bits per dim (p(x) summed over classes); null for an unconditional run. */
  lastValBpdUnconditional: number | null;
  /** A conditional run's last validation class accuracy (0..1); null for an unconditional run. */
  lastValAccuracy: number | null;
  /** Validation bits per dim when the run's training clock passed each of 1, 3, 10 and 30 minutes; marks not reached are absent. */
  valBpdAt: TimeMarkResult[];
  status: RunStatus;
  /** Display name a person gave the run (the id never changes); absent: show the id. */
  name?: string;
  notes?: string;
}

/** What setRunInfo changes: a field left out stays, an empty string clears it. */
export interface RunInfoRequest {
  runId: string;
  name?: string;
  notes?: string;
}

/** A deleted run, restorable until `expires`. */
export interface TrashEntry {
  id: string;
  name?: string;
  deletedAt: string;
  expires: string;
}

export interface MetricRow {
  type: 'train' | 'eval' | 'skip';
  step: number;
  time: number;
  loss?: number;
  /** Given each image's class, for a conditional run. */
  valBpd?: number;
  /** A conditional run's eval rows: bits per dim of p(x) summed over classes, and the class accuracy (0..1). */
  valBpdUnconditional?: number;
  valAccuracy?: number;
}

export interface RunDetail {
  summary: RunSummary;
  /** Train and eval rows each decimated to a few thousand (min and max per bucket, the newest rows exact); skip rows whole. */
  metrics: MetricRow[];
  /** Steps that have a saved fixed-seed sample grid. */
  sampleSteps: number[];
  /** The weights Samples and Explore use for this run (null before its first checkpoint). */
  weights: WeightsInfo | null;
  /** The class names of the model those weights hold, in index order; empty for an unconditional model (or before the first checkpoint). */
  classes: string[];
}

export interface SampleRequest {
  runId: string;
  /** Images, or a conditional model's images per class when it draws every class. */
  n: number;
  temperature: number;
  seed: number;
  /** A conditional model's class to draw, by name; absent or 'all' (ALL_CLASSES): one row of `n` per class. Refused for a model without classes. */
  className?: string;
  /** Classifier-free guidance weight (common/class-sampling.ts' GUIDANCE); absent: 1, the conditional model. Models trained without label dropout ignore it. */
  guidance?: number;
}

export interface SampleGrid {
  /** The grid as a PNG data URL. */
  image: string;
  /** Images drawn. */
  n: number;
  /** Images with values beyond the data range, clipped in the grid (an unstable or undertrained model). */
  outOfRange: number;
  /** With every class drawn: the class of each grid row, top to bottom. */
  rowLabels?: string[];
}

/** An image the person picked or dropped: a data URL (or plain base64) of its file bytes. */
export type ImageData = string;

export interface ReconstructResult {
  original: string;
  reconstruction: string;
  /** Largest and mean pixel difference in 8-bit levels: only quantization for an invertible model. */
  maxError: number;
  meanError: number;
}

export interface InterpolateRequest {
  runId: string;
  /** Two images give a strip, four a grid. */
  images: ImageData[];
  steps: number;
  spherical: boolean;
  temperature: number;
}

export interface InterpolateResult {
  /** PNG data URL: the strip, or the grid row by row. */
  image: string;
  /** Animated WebP data URL of a two-image strip (null for grids). */
  animation: string | null;
}

export interface DirectionRequest extends JobRequest {
  runId: string;
  /** Saved with the run under this name. */
  name: string;
  withFolder: string;
  withoutFolder: string;
}

export interface RankedImage {
  path: string;
  bpd: number;
}

/**
 * Images laid out as one PNG grid (a data URL): image i sits at column i % columns and row
 * floor(i / columns), each `cell` pixels square, with `gutter` pixels between and around them.
 */
export interface ImageSprite {
  image: string;
  count: number;
  columns: number;
  cell: number;
  gutter: number;
}

export interface RankResult {
  /** The folder as ranked: every path below starts with it. */
  folder: string;
  images: RankedImage[];
  /** The 12 least and the 8 most typical images, in rank order. */
  leastTypical: ImageSprite;
  mostTypical: ImageSprite;
  histogram: { edges: number[]; counts: number[] };
  /** Files the folder holds that could not be read, each with why; they are not ranked. */
  skipped: { path: string; reason: string }[];
}

export interface DirectionStripRequest {
  runId: string;
  image: ImageData;
  direction: string;
  /** One frame per alpha, in order. */
  alphas: number[];
}

/** Images the latent projector maps at most; the validation split is thinned evenly to this. */
export const PROJECTOR_MAX_IMAGES = 2000;

export interface ProjectedImage {
  path: string;
  /** Coordinates on the latents' first and second principal axes. */
  x: number;
  y: number;
  bpd: number;
}

export interface Projection {
  /** The run's data folder the images came from. */
  folder: string;
  /** Images in its validation split (more than `points` when thinned). */
  available: number;
  points: ProjectedImage[];
  /** Thumbnails, in the order of `points`. */
  thumbnails: ImageSprite;
  /** Fraction of the latents' variance along each axis. */
  explained: [number, number];
}

// Restoration (issue 17): settings live once in common/restore-fields.ts, the mask's packing in common/mask-bits.ts.
export type { MaskBits, RestoreSettings, UpscaleFactor };

export type RestoreRequest = JobRequest & {
  runId: string;
  /** Upscale: the full-size image (degraded here by box average, so the original is known) or one already of the model's size / factor (original unknown). Inpaint: the image, cropped and resized to the model's size as elsewhere. */
  image: ImageData;
  /** Any of restoreFields; those left out take their defaults. */
  settings: Partial<RestoreSettings>;
} & ({ mode: 'upscale'; factor: UpscaleFactor } | { mode: 'inpaint'; /** The hole, at the model's size. */ mask: MaskBits });

/** How close an image is to the original: PSNR in dB on 8-bit pixels (null: identical, infinite PSNR) and SSIM. */
export interface RestoreQuality {
  psnr: number | null;
  ssim: number;
}

export interface RestoreResult {
  mode: 'upscale' | 'inpaint';
  /** Upscale: whether the image given was full size (degraded here) or already small. Inpaint: always 'full-size'. */
  input: 'full-size' | 'small';
  /** The original at the model's size, when known. */
  original: ImageSprite | null;
  /** What the model saw: the box-averaged small image, or the image with its hole in mid-grey. */
  degraded: ImageSprite;
  /** The candidates, then their mean (the last image), in one row. */
  images: ImageSprite;
  /** The baselines (bicubic; mean colour and diffusion fills): their names and images, in one row in that order. */
  baselines: { names: string[]; images: ImageSprite };
  /** Against the original, when known: every candidate, their mean, the best candidate (an oracle's pick) and each baseline. */
  scores: { candidates: RestoreQuality[]; mean: RestoreQuality; best: RestoreQuality; baselines: Record<string, RestoreQuality> } | null;
  /** Mean pairwise RMS distance between candidates in grey levels; null for one candidate. */
  diversity: number | null;
  /** Candidates with values outside the image range (clipped). */
  outOfRange: number;
  /** The settings used, defaults filled in. */
  settings: RestoreSettings;
}

export interface ChangeClassRequest {
  runId: string;
  image: ImageData;
  /** The image's class (one of the run's class names). */
  from: string;
  /** Class names to decode under, or 'all' (the model's order). */
  to: string[] | 'all';
  /** Scales the noise; defaults to 1. */
  temperature?: number;
}

export interface ChangeClassResult {
  /** The image decoded under each class of `classes`, in one row. */
  strip: ImageSprite;
  classes: string[];
}

// The Lab (issue 15): vector flows on points; names, settings and scores live in common/lab/.
export type { LabFlowName, LabTargetSpec, LabSettings, LabResult };

/** [[xmin, xmax], [ymin, ymax]]: the box a heatmap or flow picture covers. */
export type LabBox = [[number, number], [number, number]];

export interface LabStartRequest {
  flow: LabFlowName;
  /** Any of labFields (lab-fields.ts); those left out take their defaults. */
  settings: Partial<LabSettings>;
  target: LabTargetSpec;
  /** The model's name (a run id); absent: the family, the time and a random suffix. */
  id?: string;
}

export interface LabSummary {
  id: string;
  flow: LabFlowName;
  /** The target as a person reads it, and a key equal for models of the same target (common/lab/lab-target-label.ts). */
  targetLabel: string;
  targetKey: string;
  dim: number;
  /** Steps trained so far. */
  step: number;
  settings: LabSettings;
  /** Parameters (weights) the model has. */
  parameters: number;
  created: string;
  /** Its evaluation after its last training; null before the first ends. */
  result: LabResult | null;
  /** Whether this app trains it now. */
  training: boolean;
}

export interface LabDetail {
  summary: LabSummary;
  /** The loss per step, decimated to a few thousand points (min and max per bucket, the newest exact). */
  curve: { step: number; loss: number; elapsed: number }[];
}

/** A log-density on a grid: `res`² values over `box`, row-major from the top row (largest y); null where the density is 0 (or not finite). */
export interface LabDensityGrid {
  box: LabBox;
  res: number;
  logp: (number | null)[];
}

export interface LabTargetPicture {
  label: string;
  dim: number;
  /** 'samples' trains by maximum likelihood, 'energy' by reverse KL. */
  kind: 'samples' | 'energy';
  /** The density on a grid (two-dimensional targets): the truth where known ('truth'), else a histogram of 10,000 samples. */
  density: (LabDensityGrid & { from: 'truth' | 'histogram' }) | null;
  /** Some of its points, row-major with `dim` numbers a row (standardised for a table); none for an energy. */
  samples: number[];
}

/** A live frame: the model's log-density on the grid (two-dimensional models) and points drawn from it. */
export interface LabFrameEvent {
  step: number;
  density: LabDensityGrid | null;
  dim: number;
  samples: number[];
  /** Milliseconds this frame took to compute, and since the one before (null for the first): the refresh rate. */
  ms: number;
  intervalMs: number | null;
}

/** The flow itself: grid lines and base samples pushed, base to data, through each layer or ODE time step. */
export interface LabFlowPicture {
  box: LabBox;
  /** Every stage's points are `lines` grid lines of `linePoints` points (half horizontal, then half vertical), then `samples` base samples; row-major pairs. */
  lines: number;
  linePoints: number;
  samples: number;
  stages: { t: number | null; points: number[]; velocity: number[] | null }[];
  /** Continuous families: where each stage's velocity arrows sit (pairs). */
  arrows: number[] | null;
}

/** A CSV model's rows, least likely first. */
export interface LabRanking {
  columns: number;
  /** Rows in the table; `rows` holds the first LAB_RANK_ROWS of them. */
  total: number;
  rows: { line: number; nll: number; heldOut: boolean; values: number[] }[];
}

/** Rows a ranking sends at most (the least likely). */
export const LAB_RANK_ROWS = 5000;

/** Live news from training and long jobs, pushed to every window. */
export type AppEvent =
  | { type: 'job'; job: JobProgress }
  /** Before the first step; `runId` is null while a new run has no folder yet (its images are loading). */
  | { type: 'train-phase'; runId: string | null; phase: TrainPhase }
  | { type: 'train-start'; runId: string; step: number; totalSteps: number; backend: string; resumed: boolean }
  | { type: 'train-step'; runId: string; step: number; totalSteps: number; loss: number; imgPerSec: number; elapsed: number; eta: number | null }
  /** `classes`: a conditional model's unconditional bits per dim and class accuracy (null where no image's class is known); `valBpd` is then given the class. */
  | { type: 'train-eval'; runId: string; step: number; valBpd: number; elapsed: number; classes?: { unconditionalBpd: number; accuracy: number | null } }
  | { type: 'train-sample'; runId: string; step: number }
  | { type: 'train-warning'; runId: string; message: string }
  | { type: 'train-stopped'; runId: string; step: number; status: RunStatus; error?: AppError }
  | { type: 'queue'; queue: QueueState }
  | { type: 'worker-crashed'; message: string; runId: string | null }
  | { type: 'lab-start'; id: string; flow: LabFlowName; step: number; totalSteps: number }
  /** At most ~10 a second, and for the last step. `eta` in seconds, null while unknown. */
  | { type: 'lab-step'; id: string; step: number; totalSteps: number; loss: number; stepsPerSec: number; eta: number | null; /** Seconds since this training began. */ elapsed: number }
  | { type: 'lab-frame'; id: string; frame: LabFrameEvent }
  /** Training ended: by its steps or time, a stop, or an error (then `result` is null). */
  | { type: 'lab-stopped'; id: string; step: number; ended: 'steps' | 'minutes' | 'stopped' | 'failed'; result: LabResult | null; error?: AppError };

export interface Api {
  getAppInfo(): Promise<Result<AppInfo>>;
  /** Opens a folder chooser (Electron only; browser mode returns null); the folder chosen may be read for the session. */
  chooseFolder(): Promise<Result<string | null>>;
  /**
   * Asks to read a folder outside the allowed ones. Browser mode asks in the terminal running
   * `flowdesk serve` (a yes is remembered for the runs folder; NO_TERMINAL where none is
   * attached); the desktop app refuses: a folder picked with chooseFolder is allowed already.
   */
  requestFolderAccess(req: { folder: string }): Promise<Result<{ allowed: boolean }>>;
  importFolder(req: ImportRequest): Promise<Result<ImportSummary>>;
  startTraining(req: StartRequest): Promise<Result<{ runId: string }>>;
  /** Stops after a checkpoint; the run can be resumed. */
  pauseTraining(): Promise<Result<null>>;
  /** Stops after a checkpoint and marks the run cancelled. */
  cancelTraining(): Promise<Result<null>>;
  resumeTraining(req: { runId: string; steps?: number }): Promise<Result<{ runId: string }>>;
  /** The queue of runs that start one after another as each run finishes or fails. */
  listQueue(): Promise<Result<QueueState>>;
  /** Queues a run with these settings (checked like startTraining); it starts at once when nothing trains. */
  addToQueue(req: StartRequest): Promise<Result<QueueState>>;
  removeFromQueue(req: { entryId: string }): Promise<Result<QueueState>>;
  /** Moves an entry to `index` (0 starts next). */
  moveInQueue(req: { entryId: string; index: number }): Promise<Result<QueueState>>;
  listRuns(): Promise<Result<RunSummary[]>>;
  getRun(req: { runId: string }): Promise<Result<RunDetail>>;
  /** Sets a run's display name and notes (a side file; allowed while it trains). */
  setRunInfo(req: RunInfoRequest): Promise<Result<{ name?: string; notes?: string }>>;
  /** Moves a run to the trash (kept 30 days); RUN_LOCKED while anyone trains it. */
  deleteRun(req: { runId: string }): Promise<Result<TrashEntry>>;
  /** Puts the most recently deleted run of that id back. */
  restoreRun(req: { runId: string }): Promise<Result<null>>;
  listTrash(): Promise<Result<TrashEntry[]>>;
  /** The fixed-seed grid saved at a step, as a PNG data URL. */
  getSampleGrid(req: { runId: string; step: number }): Promise<Result<string>>;
  /** A fresh grid from the run's latest checkpoint (its averaged weights, see RunDetail.weights), and how many of its images were clipped. */
  sample(req: SampleRequest): Promise<Result<SampleGrid>>;
  /** Encodes and decodes an image with a run's latest checkpoint. */
  reconstruct(req: { runId: string; image: ImageData }): Promise<Result<ReconstructResult>>;
  interpolate(req: InterpolateRequest): Promise<Result<InterpolateResult>>;
  /** Mean z of `withFolder` minus that of `withoutFolder`, saved with the run. */
  computeDirection(req: DirectionRequest): Promise<Result<{ name: string; withCount: number; withoutCount: number }>>;
  listDirections(req: { runId: string }): Promise<Result<string[]>>;
  /** The image decoded at z + alpha * direction, as a PNG data URL. */
  applyDirection(req: { runId: string; image: ImageData; direction: string; alpha: number }): Promise<Result<string>>;
  /** The image decoded at z + alpha * direction for each alpha, as one strip. */
  directionStrip(req: DirectionStripRequest): Promise<Result<ImageSprite>>;
  /** The run's validation images encoded and laid out on their first two principal axes. */
  projectLatents(req: { runId: string; limit?: number } & JobRequest): Promise<Result<Projection>>;
  /** Every image of a folder by bits per dim, least typical first. */
  rankFolder(req: { runId: string; folder: string } & JobRequest): Promise<Result<RankResult>>;
  /** Posterior candidates of a small or masked image (Langevin on the model's exact log p, a job), with baselines and, when the original is known, PSNR and SSIM. */
  restore(req: RestoreRequest): Promise<Result<RestoreResult>>;
  /** A class-conditional run's class names, in the model's order; [] for an unconditional run. */
  listClasses(req: { runId: string }): Promise<Result<string[]>>;
  /** "Change the class": the image encoded under its class and decoded under others (class-conditional runs only). */
  changeClass(req: ChangeClassRequest): Promise<Result<ChangeClassResult>>;
  /** Stops the job a long call runs (its `jobId`); that call then answers CANCELLED. An unknown or finished job is no error. */
  cancelJob(req: { jobId: string }): Promise<Result<null>>;
  /**
   * Writes the run's model, with its default (averaged) weights, into a new or empty folder: as
   * model.json + weights.safetensors (`format` 'flowdesk', the default), or as sample.onnx,
   * encode.onnx and README.md ('onnx'). Answers the files written.
   */
  exportModel(req: { runId: string; folder: string; format?: ExportFormat }): Promise<Result<string[]>>;
  /**
   * Adds a model export (model.json + weights.safetensors) or a PyTorch package that train.py
   * continued as a new run; for a package, answers the run and step it continued too.
   */
  importModel(req: { folder: string }): Promise<Result<{ runId: string; continuedFrom?: { run: string; step: number } }>>;
  /** Trains a new Lab model (one at a time; LAB_BUSY while another trains); answers once its folder exists. */
  startLab(req: LabStartRequest): Promise<Result<{ id: string }>>;
  /** Trains a Lab model further, to `steps` in all (default: as many again) or for `minutes`. */
  continueLab(req: { id: string; steps?: number; minutes?: number | null }): Promise<Result<{ id: string }>>;
  /** Stops the Lab training in progress after its step; the model is saved and evaluated. */
  stopLab(req: { id: string }): Promise<Result<null>>;
  listLab(): Promise<Result<LabSummary[]>>;
  getLab(req: { id: string }): Promise<Result<LabDetail>>;
  /** Removes a Lab model for good; RUN_LOCKED while it trains. */
  deleteLab(req: { id: string }): Promise<Result<null>>;
  /** The target's own picture and points; a bad target (an expression that does not parse, a CSV with a bad value) is refused, saying why. */
  labTarget(req: { target: LabTargetSpec }): Promise<Result<LabTargetPicture>>;
  /** The flow picture of a two-dimensional model; `stages` sets the time steps shown for continuous families (default their ODE steps). */
  labPicture(req: { id: string; stages?: number }): Promise<Result<LabFlowPicture>>;
  /** A CSV model's table rows by NLL, least likely first. */
  labRank(req: { id: string }): Promise<Result<LabRanking>>;
  /** Distillation's payoff: milliseconds for a teacher and its student to draw 10,000 points each, timed now, one after the other. */
  labSamplingTimes(req: { teacher: string; student: string }): Promise<Result<{ teacherMs: number; studentMs: number }>>;
  onEvent(listener: (e: AppEvent) => void): Unsubscribe;
  /** Where a file or folder dropped on the page lives on disk: Electron knows, a browser does not (null). */
  pathOfDroppedFile(file: File): string | null;
}

/** The request/response calls, by name: what both transports route. */
export type ApiMethod = Exclude<keyof Api, 'onEvent' | 'pathOfDroppedFile'>;

/** The value call `K` answers with when it succeeds. */
export type ApiValue<K extends ApiMethod> = Awaited<ReturnType<Api[K]>> extends Result<infer T> ? T : never;

/**
 * The calls `K` as the side that answers them implements them (VS Code's ProxyChannel model: one
 * interface serves both ends). Same arguments; the plain value instead of a Result, because a
 * failure is thrown (a FlowDeskError with its code) and the transport wraps it (`asResult`).
 */
export type ApiSlice<K extends ApiMethod> = { [M in K]: (...args: Parameters<Api[M]>) => Promise<ApiValue<M>> };
