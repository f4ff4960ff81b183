// What one setting is: its type, default, bounds, unit, one-line help, the model kinds it
// applies to and where the Train view shows it. Plain data, so every process may import it.

export const MODEL_KINDS = ['glow', 'realnvp', 'nice', 'tarflow', 'flow-matching'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** A value that is the same for every model kind, or one per kind. */
export type ByKind<T> = T | Readonly<Record<ModelKind, T>>;

interface FieldBase {
  /** Name in the Train view. */
  readonly label: ByKind<string>;
  /** One line for a person: what it does (tooltips, `flowdesk help train`). */
  readonly help: string;
  readonly unit?: string;
  /** Model kinds the field applies to; absent: every kind. */
  readonly kinds?: readonly ModelKind[];
  /**
   * 'main' and 'advanced' place it in the Train view; 'data' fields are set in the Data view;
   * 'derived' fields are set by the engine from the data (no input, no CLI option).
   */
  readonly view: 'main' | 'advanced' | 'data' | 'derived';
  /** CLI option name, when it is not the key in kebab-case. */
  readonly flag?: string;
  /**
   * What a stored config (run.json, model.json) that lacks the field means: the behaviour from
   * before the field existed, where that differs from today's default (`checkStoredModelSettings`).
   */
  readonly storedDefault?: string | number;
}

/**
 * A whole number ('int') or any finite number, from `min` to `max` inclusive. A lower bound is
 * what makes the setting meaningful; upper bounds keep a person on sensible sizes and may change,
 * which is why stored runs are not held to them (see check.ts).
 */
export interface NumericField extends FieldBase {
  readonly type: 'int' | 'number';
  readonly min: number;
  readonly max: number;
  readonly default: ByKind<number> | null;
  /** What null means ("no limit", "auto"); absent: null is not a value of this field. */
  readonly nullMeans?: string;
}

export interface ChoiceField<O extends string | number = string | number> extends FieldBase {
  readonly type: 'choice';
  readonly options: readonly O[];
  readonly default: ByKind<O>;
  /** Names for options where the value itself reads poorly. */
  readonly optionLabels?: Readonly<Partial<Record<O, string>>>;
}

export type Field = NumericField | ChoiceField;
export type Fields = Readonly<Record<string, Field>>;

/** The TypeScript type of a field's values. */
export type SettingValue<F> = F extends ChoiceField<infer O> ? O : F extends { nullMeans: string } ? number | null : number;

type AppliesTo<F, K extends ModelKind> = F extends { kinds: readonly (infer A)[] } ? (K extends A ? true : false) : true;

/** The values of `Fs` that apply to model kind K (every field when K is left out). */
export type SettingValues<Fs extends Fields, K extends ModelKind = ModelKind> = {
  -readonly [N in keyof Fs as AppliesTo<Fs[N], K> extends true ? N : never]: SettingValue<Fs[N]>;
};

export function byKind<T>(value: ByKind<T>, kind: ModelKind = MODEL_KINDS[0]): T {
  return typeof value === 'object' && value !== null ? (value as Record<ModelKind, T>)[kind] : (value as T);
}

export function appliesTo(field: Field, kind: ModelKind): boolean {
  return field.kinds === undefined || field.kinds.includes(kind);
}

export function defaultOf(field: Field, kind?: ModelKind): string | number | null {
  return byKind<string | number | null>(field.default, kind);
}


export function flagOf(key: string, field: Field): string {
  return field.flag ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Whether a person sets the field (every view but 'derived'). */
export function isPersonSet(field: Field): boolean {
  return field.view !== 'derived';
}

/** "a whole number from 1 to 64", "one of adam, adamax": what a value must be, for messages and help. */
export function ruleOf(field: Field): string {
  if (field.type === 'choice') return `one of ${field.options.join(', ')}`;
  const rule = `${field.type === 'int' ? 'a whole number' : 'a number'} from ${field.min} to ${field.max}`;
  return field.nullMeans === undefined ? rule : `null (${field.nullMeans}) or ${rule}`;
}

/** The fields of `fields` named in `keys`, in that order. */
export function pickFields<Fs extends Fields, K extends keyof Fs & string>(fields: Fs, keys: readonly K[]): Pick<Fs, K> {
  return Object.fromEntries(keys.map((k) => [k, fields[k]])) as Pick<Fs, K>;
}
