// The Train, Data and Lab views' and the Restore tab's inputs, built from the settings declarations
// (common/settings/, common/lab/lab-fields.ts, common/restore-fields.ts): label, help, bounds, step
// and options of each field, and whether it sits under "Advanced".
import { appliesTo, byKind, flagOf, ruleOf, type Field, type ModelKind } from '../../common/settings/field.ts';
import { modelFields } from '../../common/settings/model-fields.ts';
import { trainFields, type TrainFields } from '../../common/settings/train-fields.ts';
import { labFields, type LabFieldKey } from '../../common/lab/lab-fields.ts';
import { restoreFields } from '../../common/restore-fields.ts';

export interface SettingInput {
  key: string;
  label: string;
  /** Tooltip: what the field does, what it may be, and its unit. */
  help: string;
  /** data-testid: the CLI option's name. */
  testId: string;
  advanced: boolean;
  control: 'number' | 'select';
  min?: number;
  max?: number;
  step?: number | 'any';
  options?: { value: string | number; label: string }[];
  /** What an empty input means (null), shown as its placeholder; absent: empty is not a value. */
  nullMeans?: string;
}

function settingInput(key: string, field: Field, kind?: ModelKind): SettingInput {
  const common = {
    key,
    label: byKind(field.label, kind),
    help: `${field.help} (${ruleOf(field)}${field.unit ? ` ${field.unit}` : ''})`,
    testId: flagOf(key, field),
    advanced: field.view === 'advanced',
  };
  if (field.type === 'choice') {
    const labels: Partial<Record<string | number, string>> = field.optionLabels ?? {};
    return { ...common, control: 'select', options: field.options.map((value) => ({ value, label: labels[value] ?? String(value) })) };
  }
  return { ...common, control: 'number', min: field.min, max: field.max, step: field.type === 'int' ? 1 : 'any', nullMeans: field.nullMeans };
}

/** Inputs for the model fields of `kind` (image size and channels are chosen in the Data view, derived fields by the engine). */
export function modelInputs(kind: ModelKind): SettingInput[] {
  return Object.entries(modelFields)
    .filter(([, field]) => (field.view === 'main' || field.view === 'advanced') && appliesTo(field, kind))
    .map(([key, field]) => settingInput(key, field, kind));
}

/** Inputs for the training fields of the Train view (`classes` is chosen in the Data view: trainFieldInput). */
export function trainInputs(): SettingInput[] {
  return Object.entries(trainFields)
    .filter(([, field]) => field.view !== 'data')
    .map(([key, field]) => settingInput(key, field));
}

/** The input of one training field, for a view that places it itself. */
export function trainFieldInput(key: keyof TrainFields): SettingInput {
  return settingInput(key, trainFields[key]);
}

/** Inputs for the Lab settings `keys` (a family's knobs, LAB_FLOWS[flow].knobs), in that order. */
export function labInputs(keys: readonly LabFieldKey[]): SettingInput[] {
  return keys.map((key) => settingInput(key, labFields[key]));
}

/** Inputs for every restore setting (common/restore-fields.ts), Advanced ones flagged. */
export function restoreInputs(): SettingInput[] {
  return Object.entries(restoreFields).map(([key, field]) => settingInput(key, field));
}
