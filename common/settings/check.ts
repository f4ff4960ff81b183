// Checks settings against their declarations and fills the defaults, with zod schemas built from
// the field tables. A refusal names the field and what it must be; each caller words the name
// (`hidden`, `model.hidden`, `--hidden`) and picks its own error type.
import { z } from 'zod';
import { appliesTo, defaultOf, MODEL_KINDS, ruleOf, type Field, type Fields, type ModelKind } from './field.ts';
import { modelFields, modelKindField, type ResolvedModelSettings } from './model-fields.ts';
import { trainFields, type TrainSettings } from './train-fields.ts';

/**
 * 'person': new settings, held to every bound. 'stored': a config read back from run.json or
 * model.json, held only to its type, its options and a floor (below), so a bound tightened
 * since the run was written never refuses it.
 */
export type Bounds = 'person' | 'stored';

/** Counts stay counts: the most a stored whole or real number's lower bound is ever taken to be. */
const STORED_FLOOR = 1;

export interface SettingsProblem {
  field: string;
  /** The message, with the field called `name`. */
  describe(name: string): string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: SettingsProblem };

/** An untrusted value as a person reads it: JSON.stringify writes Infinity (1e400 in a file) as null. */
export function shown(value: unknown): string {
  return typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value)).slice(0, 80);
}

function lowest(field: Field & { type: 'int' | 'number' }, bounds: Bounds): number {
  return bounds === 'person' ? field.min : Math.min(field.min, STORED_FLOOR);
}

function ruleFor(field: Field, bounds: Bounds): string {
  if (bounds === 'person' || field.type === 'choice') return ruleOf(field);
  const rule = `${field.type === 'int' ? 'a whole number' : 'a number'} of at least ${lowest(field, bounds)}`;
  return field.nullMeans === undefined ? rule : `null or ${rule}`;
}

function valueSchema(field: Field, bounds: Bounds): z.ZodType {
  if (field.type === 'choice') return z.literal(field.options as (string | number)[]);
  let n = z.number().min(lowest(field, bounds));
  if (field.type === 'int') n = n.int();
  if (bounds === 'person') n = n.max(field.max);
  return field.nullMeans === undefined ? n : n.nullable();
}

const schemas = new WeakMap<Fields, Map<string, z.ZodType>>();

function objectSchema(fields: Fields, bounds: Bounds, kind: ModelKind | undefined): z.ZodType {
  const byFields = schemas.get(fields) ?? new Map<string, z.ZodType>();
  schemas.set(fields, byFields);
  const id = `${bounds}:${kind ?? ''}`;
  let schema = byFields.get(id);
  if (!schema) {
    const shape: Record<string, z.ZodType> = {};
    for (const [key, field] of Object.entries(fields)) {
      if (kind === undefined || appliesTo(field, kind)) shape[key] = valueSchema(field, bounds).default(defaultOf(field, kind) as never);
    }
    schema = z.object(shape); // keys the fields do not declare (or that belong to another kind) are dropped
    byFields.set(id, schema);
  }
  return schema;
}

function refused(field: string, rule: string, value: unknown): { ok: false; problem: SettingsProblem } {
  return { ok: false, problem: { field, describe: (name) => `${name} must be ${rule}, got ${shown(value)}.` } };
}

/** `input` checked against `fields` (those of `kind`, when given), defaults filled in. */
export function checkSettings<T>(fields: Fields, input: Record<string, unknown>, bounds: Bounds, kind?: ModelKind): Checked<T> {
  const result = objectSchema(fields, bounds, kind).safeParse(input);
  if (result.success) return { ok: true, value: result.data as T };
  const field = String(result.error.issues[0].path[0]);
  return refused(field, ruleFor(fields[field], bounds), input[field]);
}

/** A model's settings: its kind, the fields of that kind, and the shape rules that tie them together. */
export function checkModelSettings(input: Record<string, unknown>, bounds: Bounds): Checked<ResolvedModelSettings> {
  const kind = input.kind as ModelKind;
  if (!MODEL_KINDS.includes(kind)) return refused('kind', ruleOf(modelKindField), kind);
  const checked = checkSettings<Record<string, number | string>>(modelFields, input, bounds, kind);
  if (!checked.ok) return checked;
  const { size, channels, levels, patch, hidden, headDim } = checked.value as { size: number; channels: number; levels?: number; patch?: number; hidden: number; headDim?: number };
  const shapeProblem = (describe: SettingsProblem['describe'], field = 'size') => ({ ok: false as const, problem: { field, describe } });
  if (levels !== undefined && size % 2 ** levels !== 0) {
    return shapeProblem((name) => `${name} ${size} must be divisible by 2^levels = ${2 ** levels}; choose another size or fewer levels.`);
  }
  if (patch !== undefined) {
    // TarFlow: whole patches, at least two of them (the first passes each block unchanged), whole heads.
    if (size % patch !== 0 || size / patch < 2) {
      return shapeProblem((name) => `${name} ${size} must be a multiple of the patch ${patch}, at least twice it; choose another size or patch.`);
    }
    if (headDim !== undefined && hidden % headDim !== 0) {
      return shapeProblem((name) => `${name} ${hidden} must be divisible by the head width ${headDim}; choose another width or head width.`, 'hidden');
    }
  } else if ((size * size * channels) % 2 !== 0) {
    return shapeProblem((name) => `${name} ${size} gives an odd number of values per image; couplings split them in halves, so choose an even size.`);
  }
  return { ok: true, value: { kind, ...checked.value } as ResolvedModelSettings };
}

/**
 * A model config read back from run.json or model.json: a field it lacks was added after it was
 * written, so it takes the field's `storedDefault` (the behaviour of then) where there is one,
 * today's default otherwise; then it is checked with bounds 'stored'.
 */
export function checkStoredModelSettings(input: Record<string, unknown>): Checked<ResolvedModelSettings> {
  const kind = input.kind as ModelKind;
  const filled = { ...input };
  if (MODEL_KINDS.includes(kind)) {
    for (const [key, field] of Object.entries(modelFields) as [string, Field][]) {
      if (field.storedDefault !== undefined && appliesTo(field, kind) && filled[key] === undefined) filled[key] = field.storedDefault;
    }
  }
  return checkModelSettings(filled, 'stored');
}

export function checkTrainSettings(input: Record<string, unknown>, bounds: Bounds): Checked<TrainSettings> {
  return checkSettings<TrainSettings>(trainFields, input, bounds);
}
