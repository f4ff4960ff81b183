// Checks every Api call's argument before it reaches the worker: types, ranges, run ids, and
// folders inside the allowed roots. A bad argument is a BAD_ARGUMENT error naming the field.
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { GUIDANCE } from '../common/class-sampling.ts';
import { checkModelSettings, checkSettings, checkTrainSettings, type Checked } from '../common/settings/check.ts';
import { LAB_ENERGIES, LAB_FLOW_NAMES, LAB_SAMPLE_TARGETS, type LabEnergyName, type LabSampleTargetName, type LabTargetSpec } from '../common/lab/lab-catalog.ts';
import { labFields, type LabSettings } from '../common/lab/lab-fields.ts';
import { EXPORT_FORMATS } from '../common/export-formats.ts';
import { maskByteLength, unpackMask, type MaskBits } from '../common/mask-bits.ts';
import { restoreFields, UPSCALE_FACTORS, type RestoreSettings } from '../common/restore-fields.ts';
import { modelFields } from '../common/settings/model-fields.ts';
import { trainFields } from '../common/settings/train-fields.ts';
import { PROJECTOR_MAX_IMAGES, type ApiMethod } from '../preload/api.ts';
import { allowedRoots } from './allowed-roots.ts';
import { FlowDeskError } from './engine/errors.ts';
import { isInsideRoots, realPathForCreate } from './engine/fs/real-paths.ts';
import { isRunId, RUN_ID_RULE } from './engine/runs/run-id.ts';
import { RUN_NAME_MAX, RUN_NOTES_MAX } from './engine/runs/run-info.ts';

type Obj = Record<string, unknown>;

function bad(field: string, rule: string, value: unknown): never {
  const shown = JSON.stringify(value);
  throw new FlowDeskError('BAD_ARGUMENT', `${field} must be ${rule}, got ${shown === undefined ? 'nothing' : shown.slice(0, 80)}.`);
}

function object(v: unknown, field: string): Obj {
  if (!v || typeof v !== 'object' || Array.isArray(v)) bad(field, 'an object', v);
  return v as Obj;
}

function int(o: Obj, key: string, min: number, max: number, field: string, optional = false): number | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(`${field}.${key}`, `a whole number from ${min} to ${max}`, v);
  return v as number;
}

function numberIn(v: unknown, min: number, max: number, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad(field, `a number from ${min} to ${max}`, v);
  return v as number;
}

function num(o: Obj, key: string, min: number, max: number, field: string): number {
  return numberIn(o[key], min, max, `${field}.${key}`);
}

function oneOf<T>(o: Obj, key: string, options: readonly T[], field: string, optional = false): T | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (!options.includes(v as T)) bad(`${field}.${key}`, `one of ${options.join(', ')}`, v);
  return v as T;
}

function folder(o: Obj, key: string, field: string): string | null {
  const v = o[key];
  if (v === null) return null;
  return insideRoots(v, `${field}.${key}`, 'a folder path or null');
}

/** An absolute path inside the allowed roots (`rule` says what it must be when it is not a path at all). */
function insideRoots(v: unknown, field: string, rule: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 4096 || v.includes('\0')) bad(field, rule, v);
  if (!isAbsolute(v as string)) bad(field, 'an absolute path', v);
  const path = resolve(v as string);
  // Judged by its real path, so a link inside a root cannot lead out; the worker checks again
  // every file it opens, since a link can change after this check.
  const roots = allowedRoots();
  let real: string;
  try {
    real = realPathForCreate(path);
  } catch (err) {
    if (err instanceof FlowDeskError) throw err;
    throw new FlowDeskError('BAD_ARGUMENT', `${v} cannot be resolved (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check the folder and its links.`);
  }
  if (!isInsideRoots(real, roots)) {
    // Where a link leads is not echoed: the page learns that it leaves the roots, not where to.
    const via = real === path ? '' : ' through a link';
    throw new FlowDeskError('BAD_ARGUMENT', `${v} is outside the folders FlowDesk may read${via} (${roots.join(', ')}); allow it from the Data view, or add it to FLOWDESK_ROOTS.`);
  }
  return path;
}

/** An existing folder anywhere, as its real path: only for asking a person to allow it (never to read it). */
function folderToAllow(o: Obj, field: string): string {
  const v = o.folder;
  if (typeof v !== 'string' || v.length === 0 || v.length > 4096 || v.includes('\0') || !isAbsolute(v)) bad(`${field}.folder`, 'an absolute folder path', v);
  let real: string;
  try {
    real = realpathSync(v as string);
  } catch {
    throw new FlowDeskError('BAD_ARGUMENT', `${v} does not exist; check the path.`);
  }
  if (!statSync(real).isDirectory()) throw new FlowDeskError('BAD_ARGUMENT', `${v} is not a folder; name the folder that holds the images.`);
  return real;
}

function runId(o: Obj, field: string): string {
  const v = o.runId;
  if (!isRunId(v)) bad(`${field}.runId`, `a run id (${RUN_ID_RULE})`, v);
  return v;
}

/** A settings check's value, or BAD_ARGUMENT naming the field as `model.hidden`. */
function settings<T>(checked: Checked<T>, prefix: string): T {
  if (!checked.ok) throw new FlowDeskError('BAD_ARGUMENT', checked.problem.describe(`${prefix}.${checked.problem.field}`));
  return checked.value;
}

function model(v: unknown) {
  return settings(checkModelSettings(object(v, 'model'), 'person'), 'model');
}

function train(v: unknown) {
  return settings(checkTrainSettings(object(v, 'train'), 'person'), 'train');
}

/** Image files travel as base64 text; 16 MB of file is plenty for a picture to explore. */
const MAX_IMAGE_CHARS = 22_000_000;

function image(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_IMAGE_CHARS) bad(field, 'an image file as a data URL or base64 (at most 16 MB)', typeof v === 'string' ? `${v.length} characters` : v);
  const base64 = (v as string).replace(/^data:[\w/+.-]*;base64,/, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) bad(field, 'base64 image data', v.slice(0, 40));
  return base64;
}

function name(o: Obj, key: string, field: string): string {
  const v = o[key];
  if (typeof v !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9 _-]{0,63}$/.test(v)) bad(`${field}.${key}`, 'a name of letters, digits, spaces, dashes or underscores (at most 64)', v);
  return v as string;
}

/** Optional free text up to `max` characters, without control characters other than newlines and tabs. */
function text(o: Obj, key: string, max: number, field: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > max || /[\u0000-\u0008\u000b-\u001f\u007f]/.test(v)) bad(`${field}.${key}`, `text of at most ${max} characters`, v);
  return v as string;
}

/** An optional class name (a sub-folder's name, or ALL_CLASSES); whether the model has it is the worker's to say. */
function className(o: Obj, key: string, field: string): string | undefined {
  return o[key] === undefined ? undefined : classNameValue(o[key], `${field}.${key}`);
}

/** How far along a direction an image may move, in multiples of it. */
const ALPHA = { min: -10, max: 10 };
/** Frames in one strip along a direction. */
const MAX_STRIP_FRAMES = 16;

function alphas(v: unknown, field: string): number[] {
  if (!Array.isArray(v) || v.length < 1 || v.length > MAX_STRIP_FRAMES) bad(field, `a list of 1 to ${MAX_STRIP_FRAMES} alphas`, v);
  return (v as unknown[]).map((a, i) => numberIn(a, ALPHA.min, ALPHA.max, `${field}[${i}]`));
}

function requiredFolder(o: Obj, key: string, field: string): string {
  const path = folder(o, key, field);
  if (path === null) bad(`${field}.${key}`, 'a folder path', null);
  return path as string;
}

/** A run to start now or queue: its folder, model and training settings. */
function startRequest(arg: unknown) {
  const o = object(arg, 'request');
  return { folder: folder(o, 'folder', 'request'), model: model(o.model), train: train(o.train) };
}

/** Queue positions past the end mean "last"; this bound only keeps the number sane. */
const MAX_QUEUE_INDEX = 1_000_000;

/** A job id the page chose for a long call (see JobRequest) or a queue entry's id: a name, never a path. */
const SHORT_ID = /^[A-Za-z0-9_-]{1,64}$/;

function queueEntryId(o: Obj, field: string): string {
  const v = o.entryId;
  if (typeof v !== 'string' || !SHORT_ID.test(v)) bad(`${field}.entryId`, 'a queue entry id (letters, digits, dashes, underscores; at most 64)', v);
  return v as string;
}


function jobId(o: Obj, field: string, optional: boolean): { jobId?: string } {
  const v = o.jobId;
  if (v === undefined && optional) return {};
  if (typeof v !== 'string' || !SHORT_ID.test(v)) bad(`${field}.jobId`, 'a job id of 1 to 64 letters, digits, dashes or underscores', v);
  return { jobId: v as string };
}

// The Lab's requests. Drawn points and dropped images are bounded here, before they cross to the worker.
/** Points a person may draw. */
const MAX_DRAWN_POINTS = 20_000;
/** A dropped image is read in the page and scaled to at most this many pixels a side. */
const MAX_LAB_IMAGE_SIDE = 256;
const MAX_EXPRESSION_CHARS = 500;

function labId(o: Obj, key: string, field: string, optional = false): string | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (!isRunId(v)) bad(`${field}.${key}`, `a Lab model id (${RUN_ID_RULE})`, v);
  return v as string;
}

function labTarget(v: unknown, field: string): LabTargetSpec {
  const o = object(v, field);
  const kind = oneOf(o, 'kind', ['samples', 'points', 'image', 'csv', 'energy', 'expression', 'model'] as const, field)!;
  switch (kind) {
    case 'samples':
      return { kind, name: oneOf(o, 'name', Object.keys(LAB_SAMPLE_TARGETS) as LabSampleTargetName[], field)! };
    case 'energy':
      return { kind, name: oneOf(o, 'name', Object.keys(LAB_ENERGIES) as LabEnergyName[], field)! };
    case 'expression': {
      const e = o.expression;
      if (typeof e !== 'string' || e.trim() === '' || e.length > MAX_EXPRESSION_CHARS || /[\u0000-\u001f\u007f]/.test(e)) bad(`${field}.expression`, `an expression in x and y of at most ${MAX_EXPRESSION_CHARS} characters`, e);
      return { kind, expression: e as string };
    }
    case 'points': {
      const p = o.points;
      if (!Array.isArray(p) || p.length < 1 || p.length > MAX_DRAWN_POINTS) bad(`${field}.points`, `a list of 1 to ${MAX_DRAWN_POINTS} points`, Array.isArray(p) ? `${p.length} points` : p);
      return { kind, points: (p as unknown[]).map((pt, i) => {
        if (!Array.isArray(pt) || pt.length !== 2) bad(`${field}.points[${i}]`, 'a point [x, y]', pt);
        return (pt as unknown[]).map((c, k) => numberIn(c, -1e6, 1e6, `${field}.points[${i}][${k}]`));
      }) };
    }
    case 'image': {
      const width = int(o, 'width', 1, MAX_LAB_IMAGE_SIDE, field)!;
      const height = int(o, 'height', 1, MAX_LAB_IMAGE_SIDE, field)!;
      const px = o.pixels;
      if (!Array.isArray(px) || px.length !== width * height) bad(`${field}.pixels`, `${width * height} brightness values (width × height)`, Array.isArray(px) ? `${px.length} values` : px);
      (px as unknown[]).forEach((b, i) => numberIn(b, 0, 1, `${field}.pixels[${i}]`));
      return { kind, width, height, pixels: px as number[] };
    }
    case 'csv':
      return { kind, file: insideRoots(o.file, `${field}.file`, 'the absolute path of a CSV file') };
    case 'model':
      return { kind, id: labId(o, 'id', field)! };
  }
}

/** Lab settings as given, each checked against its field (lab-fields.ts); the engine fills the rest, and the objective from the target. */
function labSettings(v: unknown, field: string): Partial<LabSettings> {
  const o = object(v, field);
  settings(checkSettings(labFields, o, 'person'), field);
  return Object.fromEntries(Object.entries(o).filter(([k]) => Object.hasOwn(labFields, k))) as Partial<LabSettings>;
}

const labValidators = {
  startLab: (arg: unknown) => {
    const o = object(arg, 'request');
    return { flow: oneOf(o, 'flow', LAB_FLOW_NAMES, 'request')!, settings: labSettings(o.settings ?? {}, 'request.settings'), target: labTarget(o.target, 'request.target'), id: labId(o, 'id', 'request', true) };
  },
  continueLab: (arg: unknown) => {
    const o = object(arg, 'request');
    const minutes = o.minutes === undefined || o.minutes === null ? o.minutes : numberIn(o.minutes, labFields.minutes.min, labFields.minutes.max, 'request.minutes');
    return { id: labId(o, 'id', 'request')!, steps: int(o, 'steps', 1, labFields.steps.max, 'request', true), minutes: minutes as number | null | undefined };
  },
  stopLab: (arg: unknown) => ({ id: labId(object(arg, 'request'), 'id', 'request')! }),
  listLab: () => null,
  getLab: (arg: unknown) => ({ id: labId(object(arg, 'request'), 'id', 'request')! }),
  deleteLab: (arg: unknown) => ({ id: labId(object(arg, 'request'), 'id', 'request')! }),
  labTarget: (arg: unknown) => ({ target: labTarget(object(arg, 'request').target, 'request.target') }),
  labPicture: (arg: unknown) => {
    const o = object(arg, 'request');
    return { id: labId(o, 'id', 'request')!, stages: int(o, 'stages', 1, labFields.odeSteps.max, 'request', true) };
  },
  labRank: (arg: unknown) => ({ id: labId(object(arg, 'request'), 'id', 'request')! }),
  labSamplingTimes: (arg: unknown) => {
    const o = object(arg, 'request');
    return { teacher: labId(o, 'teacher', 'request')!, student: labId(o, 'student', 'request')! };
  },
};

// Restoration and class changes (issue 17).
/** A mask drawn in the page: one bit a pixel at a side the settings allow, with a hole and something kept. The worker checks the side against the model's. */
function maskBits(v: unknown, field: string): MaskBits {
  const o = object(v, field);
  const side = int(o, 'side', modelFields.size.min, modelFields.size.max, field)!;
  const hole = typeof o.bits === 'string' ? unpackMask({ side, bits: o.bits }) : null;
  if (hole === null) bad(`${field}.bits`, `base64 of ${maskByteLength(side)} bytes (one bit per pixel of a ${side} x ${side} mask)`, typeof o.bits === 'string' ? `${o.bits.length} characters` : o.bits);
  const holes = hole!.reduce((sum, h) => sum + h, 0);
  if (holes === 0) throw new FlowDeskError('BAD_ARGUMENT', `${field} marks no pixel to fill: paint the hole over the image with the brush first.`);
  if (holes === hole!.length) throw new FlowDeskError('BAD_ARGUMENT', `${field} covers every pixel, so nothing is kept to restore from: leave part of the image unpainted (or draw samples in the Samples view).`);
  return { side, bits: o.bits as string };
}

/** Restore settings as given, each checked against restoreFields, the rest at their defaults. */
function restoreSettings(v: unknown, field: string): RestoreSettings {
  return settings(checkSettings<RestoreSettings>(restoreFields, object(v ?? {}, field), 'person'), field);
}

/** A class name as a model holds it: a sub-folder's name, which a file system keeps to 255 characters. */
function classNameValue(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 255 || /[\u0000-\u001f\u007f]/.test(v)) bad(field, 'a class name', v);
  return v as string;
}

/** Class names a change of class decodes under at most in one call. */
const MAX_CLASSES = 256;

const restoreValidators = {
  restore: (arg: unknown) => {
    const o = object(arg, 'request');
    const mode = oneOf(o, 'mode', ['upscale', 'inpaint'] as const, 'request')!;
    const common = { runId: runId(o, 'request'), image: image(o.image, 'request.image'), settings: restoreSettings(o.settings, 'request.settings'), ...jobId(o, 'request', true) };
    return mode === 'upscale' ? { ...common, mode, factor: oneOf(o, 'factor', UPSCALE_FACTORS, 'request')! } : { ...common, mode, mask: maskBits(o.mask, 'request.mask') };
  },
  listClasses: (arg: unknown) => ({ runId: runId(object(arg, 'request'), 'request') }),
  changeClass: (arg: unknown) => {
    const o = object(arg, 'request');
    if (o.to !== 'all' && (!Array.isArray(o.to) || o.to.length < 1 || o.to.length > MAX_CLASSES)) bad('request.to', `"all" or a list of 1 to ${MAX_CLASSES} class names`, o.to);
    return {
      runId: runId(o, 'request'),
      image: image(o.image, 'request.image'),
      from: classNameValue(o.from, 'request.from'),
      to: o.to === 'all' ? 'all' : (o.to as unknown[]).map((c, i) => classNameValue(c, `request.to[${i}]`)),
      temperature: o.temperature === undefined ? 1 : num(o, 'temperature', 0, 2, 'request'),
    };
  },
};

const validators: Record<ApiMethod, (arg: unknown) => unknown> = {
  ...labValidators,
  ...restoreValidators,
  getAppInfo: () => null,
  chooseFolder: () => null,
  requestFolderAccess: (arg) => ({ folder: folderToAllow(object(arg, 'request'), 'request') }),
  listRuns: () => null,
  pauseTraining: () => null,
  cancelTraining: () => null,
  importFolder: (arg) => {
    const o = object(arg, 'request');
    const { size, channels } = modelFields;
    return {
      folder: folder(o, 'folder', 'request'),
      size: int(o, 'size', size.min, size.max, 'request'),
      channels: oneOf(o, 'channels', channels.options, 'request'),
      classes: oneOf(o, 'classes', trainFields.classes.options, 'request', true) ?? trainFields.classes.default,
      ...jobId(o, 'request', true),
    };
  },
  startTraining: startRequest,
  listQueue: () => null,
  addToQueue: startRequest,
  removeFromQueue: (arg) => ({ entryId: queueEntryId(object(arg, 'request'), 'request') }),
  moveInQueue: (arg) => {
    const o = object(arg, 'request');
    return { entryId: queueEntryId(o, 'request'), index: int(o, 'index', 0, MAX_QUEUE_INDEX, 'request') };
  },
  resumeTraining: (arg) => {
    const o = object(arg, 'request');
    return { runId: runId(o, 'request'), steps: int(o, 'steps', trainFields.steps.min, trainFields.steps.max, 'request', true) };
  },
  getRun: (arg) => ({ runId: runId(object(arg, 'request'), 'request') }),
  setRunInfo: (arg) => {
    const o = object(arg, 'request');
    return { runId: runId(o, 'request'), name: text(o, 'name', RUN_NAME_MAX, 'request'), notes: text(o, 'notes', RUN_NOTES_MAX, 'request') };
  },
  deleteRun: (arg) => ({ runId: runId(object(arg, 'request'), 'request') }),
  restoreRun: (arg) => ({ runId: runId(object(arg, 'request'), 'request') }),
  listTrash: () => null,
  getSampleGrid: (arg) => {
    const o = object(arg, 'request');
    return { runId: runId(o, 'request'), step: int(o, 'step', 0, 1e12, 'request') };
  },
  reconstruct: (arg) => {
    const o = object(arg, 'request');
    return { runId: runId(o, 'request'), image: image(o.image, 'request.image') };
  },
  interpolate: (arg) => {
    const o = object(arg, 'request');
    if (!Array.isArray(o.images) || (o.images.length !== 2 && o.images.length !== 4)) bad('request.images', 'two or four images', Array.isArray(o.images) ? `${o.images.length} images` : o.images);
    if (typeof o.spherical !== 'boolean') bad('request.spherical', 'true or false', o.spherical);
    return {
      runId: runId(o, 'request'),
      images: (o.images as unknown[]).map((im, i) => image(im, `request.images[${i}]`)),
      steps: int(o, 'steps', 2, 16, 'request'),
      spherical: o.spherical,
      temperature: num(o, 'temperature', 0, 2, 'request'),
    };
  },
  computeDirection: (arg) => {
    const o = object(arg, 'request');
    return { runId: runId(o, 'request'), name: name(o, 'name', 'request'), withFolder: requiredFolder(o, 'withFolder', 'request'), withoutFolder: requiredFolder(o, 'withoutFolder', 'request'), ...jobId(o, 'request', true) };
  },
  listDirections: (arg) => ({ runId: runId(object(arg, 'request'), 'request') }),
  applyDirection: (arg) => {
    const o = object(arg, 'request');
    return { runId: runId(o, 'request'), image: image(o.image, 'request.image'), direction: name(o, 'direction', 'request'), alpha: num(o, 'alpha', ALPHA.min, ALPHA.max, 'request') };
  },
  directionStrip: (arg) => {
    const o = object(arg, 'request');
    return { runId: runId(o, 'request'), image: image(o.image, 'request.image'), direction: name(o, 'direction', 'request'), alphas: alphas(o.alphas, 'request.alphas') };
  },
  projectLatents: (arg) => {
    const o = object(arg, 'request');
    return { runId: runId(o, 'request'), limit: int(o, 'limit', 2, PROJECTOR_MAX_IMAGES, 'request', true), ...jobId(o, 'request', true) };
  },
  rankFolder: (arg) => {
    const o = object(arg, 'request');
    return { runId: runId(o, 'request'), folder: requiredFolder(o, 'folder', 'request'), ...jobId(o, 'request', true) };
  },
  cancelJob: (arg) => jobId(object(arg, 'request'), 'request', false),
  exportModel: (arg) => {
    const o = object(arg, 'request');
    return { runId: runId(o, 'request'), folder: requiredFolder(o, 'folder', 'request'), format: oneOf(o, 'format', EXPORT_FORMATS, 'request', true) ?? 'flowdesk' };
  },
  importModel: (arg) => ({ folder: requiredFolder(object(arg, 'request'), 'folder', 'request') }),
  sample: (arg) => {
    const o = object(arg, 'request');
    return {
      runId: runId(o, 'request'),
      n: int(o, 'n', 1, 256, 'request'),
      temperature: num(o, 'temperature', 0, 2, 'request'),
      seed: int(o, 'seed', 0, 2 ** 31 - 1, 'request'),
      className: className(o, 'className', 'request'),
      guidance: o.guidance === undefined ? undefined : num(o, 'guidance', GUIDANCE.min, GUIDANCE.max, 'request'),
    };
  },
};

/** The argument of `method`, checked and normalised; throws BAD_ARGUMENT. */
export function validateRequest(method: string, arg: unknown): unknown {
  if (!Object.hasOwn(validators, method)) throw new FlowDeskError('BAD_ARGUMENT', `Unknown API call ${JSON.stringify(method)}.`);
  return validators[method as ApiMethod](arg);
}
