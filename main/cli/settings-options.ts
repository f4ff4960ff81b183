// Command-line options for the settings declared in common/settings: one option per field, its
// help (bounds and default from the declaration), and values checked by the same rules as the
// Api's, with the option named in the message.
import { checkSettings, type Checked } from '../../common/settings/check.ts';
import { appliesTo, byKind, flagOf, isPersonSet, MODEL_KINDS, ruleOf, type Field, type Fields, type ModelKind } from '../../common/settings/field.ts';
import { UsageError, type OptionSpec, type Parsed } from './options.ts';

/** The fields a person sets, as [key, field]: derived ones (set by the engine) get no option. */
function optionFields(fields: Fields): [string, Field][] {
  return Object.entries(fields).filter(([, field]) => isPersonSet(field));
}

/** A string option for every field a person sets. */
export function settingOptions(fields: Fields): OptionSpec {
  return Object.fromEntries(optionFields(fields).map(([key, field]) => [flagOf(key, field), { type: 'string' as const }]));
}

function defaultText(field: Field): string {
  if (field.default === null) return field.type === 'choice' ? 'none' : (field.nullMeans ?? 'none');
  if (typeof field.default !== 'object') return String(field.default);
  return MODEL_KINDS.map((kind) => `${kind} ${byKind(field.default, kind)}`).join(', ');
}

const HELP_COLUMN = 26;

/**
 * Each option with what it does, then its values and default (`notes` adds to the default,
 * e.g. where the bundled digits change it). An option is never null on the command line: left
 * out, it takes its default.
 */
export function settingsHelp(fields: Fields, notes: Readonly<Record<string, string>> = {}): string {
  const pad = ' '.repeat(HELP_COLUMN);
  return optionFields(fields)
    .map(([key, field]) => {
      const value = field.type === 'choice' ? field.options.join('|') : field.type === 'int' ? 'N' : 'X';
      const head = `  --${flagOf(key, field)} ${value}`;
      const rule = ruleOf(field.type === 'choice' ? field : { ...field, nullMeans: undefined });
      const unit = field.unit ? ` ${field.unit}` : '';
      const kinds = field.kinds ? `; ${field.kinds.join(', ')} only` : '';
      const first = head.length < HELP_COLUMN ? head.padEnd(HELP_COLUMN) : `${head}\n${pad}`;
      return `${first}${field.help}\n${pad}${rule}${unit}; default ${defaultText(field)}${notes[key] ?? ''}${kinds}`;
    })
    .join('\n');
}

/** The option's value as the field's type; text that is not a number stays text, so the message quotes it. */
function parsedValue(field: Field, raw: string): string | number {
  if (field.type === 'choice' && typeof field.options[0] !== 'number') return raw;
  const n = Number(raw);
  return raw.trim() === '' || Number.isNaN(n) ? raw : n;
}

/** The settings given on the command line; a field that does not apply to `kind` is refused. */
export function givenSettings(fields: Fields, values: Parsed['values'], kind?: ModelKind): Record<string, unknown> {
  const given: Record<string, unknown> = {};
  for (const [key, field] of optionFields(fields)) {
    const raw = values[flagOf(key, field)];
    if (typeof raw !== 'string') continue;
    if (kind !== undefined && !appliesTo(field, kind)) {
      throw new UsageError(`--${flagOf(key, field)} does not apply to ${kind} models (only to ${field.kinds?.join(', ')})`);
    }
    given[key] = parsedValue(field, raw);
  }
  return given;
}

/** The checked value, or a UsageError naming the option (`fields` maps the field back to its flag). */
export function settingsOrUsage<T>(checked: Checked<T>, fields: Fields): T {
  if (checked.ok) return checked.value;
  const { field } = checked.problem;
  throw new UsageError(checked.problem.describe(fields[field] ? `--${flagOf(field, fields[field])}` : field));
}

/** Only the settings given on the command line, checked; the rest stay to the engine's defaults. */
export function givenSettingsChecked(fields: Fields, values: Parsed['values']): Record<string, unknown> {
  const given = givenSettings(fields, values);
  const checked = settingsOrUsage(checkSettings<Record<string, unknown>>(fields, given, 'person'), fields);
  return Object.fromEntries(Object.keys(given).map((key) => [key, checked[key]]));
}
