// Checks every Api call's argument before it reaches the worker: types, ranges, run ids, and
// folders inside the allowed roots. A bad argument is a BAD_ARGUMENT error naming the field.
import { homedir, tmpdir } from 'node:os';
import { delimiter, isAbsolute, resolve, sep } from 'node:path';
import type { ApiMethod } from '../preload/api.ts';
import { FlowDeskError } from './engine/errors.ts';
import { resourcesDir } from './engine/resources.ts';
import { isRunId, RUN_ID_RULE } from './engine/runs/run-id.ts';

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

function num(o: Obj, key: string, min: number, max: number, field: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad(`${field}.${key}`, `a number from ${min} to ${max}`, v);
  return v as number;
}

function oneOf<T>(o: Obj, key: string, options: readonly T[], field: string, optional = false): T | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (!options.includes(v as T)) bad(`${field}.${key}`, `one of ${options.join(', ')}`, v);
  return v as T;
}

/** Folders the app may read: home, temp, the working folder, bundled resources, $FLOWDESK_ROOTS. */
export function allowedRoots(): string[] {
  const extra = (process.env.FLOWDESK_ROOTS ?? '').split(delimiter).filter(Boolean);
  return [homedir(), tmpdir(), process.cwd(), resourcesDir(), ...extra].map((r) => resolve(r));
}

function folder(o: Obj, key: string, field: string): string | null {
  const v = o[key];
  if (v === null) return null;
  if (typeof v !== 'string' || v.length === 0 || v.length > 4096 || v.includes('\0')) bad(`${field}.${key}`, 'a folder path or null', v);
  if (!isAbsolute(v)) bad(`${field}.${key}`, 'an absolute path', v);
  const path = resolve(v);
  if (!allowedRoots().some((root) => path === root || path.startsWith(root + sep))) {
    throw new FlowDeskError('BAD_ARGUMENT', `${v} is outside the folders FlowDesk may read (${allowedRoots().join(', ')}); add it to FLOWDESK_ROOTS.`);
  }
  return path;
}

function runId(o: Obj, field: string): string {
  const v = o.runId;
  if (!isRunId(v)) bad(`${field}.runId`, `a run id (${RUN_ID_RULE})`, v);
  return v;
}

function model(v: unknown) {
  const o = object(v, 'model');
  const kind = oneOf(o, 'kind', ['glow', 'realnvp', 'nice'] as const, 'model')!;
  return {
    kind,
    size: int(o, 'size', 4, 256, 'model')!,
    channels: oneOf(o, 'channels', [1, 3] as const, 'model')!,
    depth: int(o, 'depth', 1, 64, 'model')!,
    hidden: int(o, 'hidden', 1, 4096, 'model')!,
    ...(kind === 'nice' ? {} : { levels: int(o, 'levels', 1, 6, 'model')! }),
    ...(kind === 'glow'
      ? { coupling: oneOf(o, 'coupling', ['affine', 'additive'] as const, 'model', true), permutation: oneOf(o, 'permutation', ['invconv', 'shuffle', 'reverse'] as const, 'model', true) }
      : {}),
  };
}

function train(v: unknown) {
  const o = object(v, 'train');
  const minutes = o.minutes;
  if (minutes !== undefined && minutes !== null && !(typeof minutes === 'number' && minutes > 0 && minutes <= 100_000)) bad('train.minutes', 'null or a positive number', minutes);
  return {
    batch: int(o, 'batch', 1, 1024, 'train')!,
    steps: int(o, 'steps', 1, 10_000_000, 'train')!,
    lr: num(o, 'lr', 1e-7, 1, 'train'),
    warmup: int(o, 'warmup', 0, 1_000_000, 'train')!,
    nBits: int(o, 'nBits', 1, 8, 'train')!,
    seed: int(o, 'seed', 0, 2 ** 31 - 1, 'train')!,
    evalEvery: int(o, 'evalEvery', 1, 10_000_000, 'train')!,
    checkpointEvery: int(o, 'checkpointEvery', 1, 10_000_000, 'train')!,
    minutes: (minutes as number | null | undefined) ?? null,
  };
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

function requiredFolder(o: Obj, key: string, field: string): string {
  const path = folder(o, key, field);
  if (path === null) bad(`${field}.${key}`, 'a folder path', null);
  return path as string;
}

const validators: Record<ApiMethod, (arg: unknown) => unknown> = {
  getAppInfo: () => null,
  chooseFolder: () => null,
  listRuns: () => null,
  pauseTraining: () => null,
  cancelTraining: () => null,
  importFolder: (arg) => {
    const o = object(arg, 'request');
    return { folder: folder(o, 'folder', 'request'), size: int(o, 'size', 4, 256, 'request'), channels: oneOf(o, 'channels', [1, 3] as const, 'request') };
  },
  startTraining: (arg) => {
    const o = object(arg, 'request');
    return { folder: folder(o, 'folder', 'request'), model: model(o.model), train: train(o.train) };
  },
  resumeTraining: (arg) => {
    const o = object(arg, 'request');
    return { runId: runId(o, 'request'), steps: int(o, 'steps', 1, 10_000_000, 'request', true) };
  },
  getRun: (arg) => ({ runId: runId(object(arg, 'request'), 'request') }),
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
    return { runId: runId(o, 'request'), name: name(o, 'name', 'request'), withFolder: requiredFolder(o, 'withFolder', 'request'), withoutFolder: requiredFolder(o, 'withoutFolder', 'request') };
  },
  listDirections: (arg) => ({ runId: runId(object(arg, 'request'), 'request') }),
  applyDirection: (arg) => {
    const o = object(arg, 'request');
    return { runId: runId(o, 'request'), image: image(o.image, 'request.image'), direction: name(o, 'direction', 'request'), alpha: num(o, 'alpha', -10, 10, 'request') };
  },
  rankFolder: (arg) => {
    const o = object(arg, 'request');
    return { runId: runId(o, 'request'), folder: requiredFolder(o, 'folder', 'request') };
  },
  exportModel: (arg) => {
    const o = object(arg, 'request');
    return { runId: runId(o, 'request'), folder: requiredFolder(o, 'folder', 'request') };
  },
  importModel: (arg) => ({ folder: requiredFolder(object(arg, 'request'), 'folder', 'request') }),
  sample: (arg) => {
    const o = object(arg, 'request');
    return { runId: runId(o, 'request'), n: int(o, 'n', 1, 256, 'request'), temperature: num(o, 'temperature', 0, 2, 'request'), seed: int(o, 'seed', 0, 2 ** 31 - 1, 'request') };
  },
};

/** The argument of `method`, checked and normalised; throws BAD_ARGUMENT. */
export function validateRequest(method: string, arg: unknown): unknown {
  if (!Object.hasOwn(validators, method)) throw new FlowDeskError('BAD_ARGUMENT', `Unknown API call ${JSON.stringify(method)}.`);
  return validators[method as ApiMethod](arg);
}
