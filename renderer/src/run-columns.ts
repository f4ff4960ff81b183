// The Runs table's columns: the run and its results (the last validation, and the validation at
// each time mark), then one per model and training setting, read from the settings declarations
// (common/settings/), so a new setting gets a column by itself. Each column gives a sortable
// value and the text shown (and filtered on).
import { noisedDataNote } from '../../common/bits-per-dim-label.ts';
import { byKind, type Field, type Fields } from '../../common/settings/field.ts';
import { modelFields, modelKindField } from '../../common/settings/model-fields.ts';
import { trainFields } from '../../common/settings/train-fields.ts';
import { markLabel, TIME_MARKS_MINUTES } from '../../common/time-marks.ts';
import type { RunSummary } from '../../preload/api.ts';
import { bpd, percent, runLabel, shortDate } from './format.ts';

export interface RunColumn {
  key: string;
  label: string;
  help?: string;
  group: 'run' | 'model' | 'train';
  /** A result in numbers (a dash where there is none): right-aligned, dash and heading too. */
  numeric?: boolean;
  /** What sorting compares: numbers numerically, text alphabetically, null last. */
  sortValue(r: RunSummary): number | string | null;
  text(r: RunSummary): string;
  /** A few words under the value that say what it is of (bits per dim of noised data), or null. */
  note?(r: RunSummary): string | null;
  /** Absent: every run. Else the runs the column is of (class-conditional ones): shown when the table has one, blank for others. */
  appliesTo?(r: RunSummary): boolean;
}

function settingText(field: Field, v: unknown): string {
  if (v === null) return 'nullMeans' in field && field.nullMeans ? field.nullMeans : '—';
  if (v === undefined) return '—';
  if (field.type === 'choice') return String((field.optionLabels as Record<string, string> | undefined)?.[String(v)] ?? v);
  return String(v);
}

function settingColumns(group: 'model' | 'train', fields: Fields): RunColumn[] {
  return Object.entries(fields).map(([key, field]) => {
    const value = (r: RunSummary) => (r[group] as Record<string, unknown>)[key];
    return {
      key: `${group}.${key}`,
      label: byKind(field.label),
      help: field.help,
      group,
      sortValue: (r) => {
        const v = value(r);
        return typeof v === 'number' || typeof v === 'string' ? v : null;
      },
      text: (r) => settingText(field, value(r)),
    };
  });
}


/** The Run column (name, id, notes), which the table draws itself. */
export const nameColumn: RunColumn = { key: 'id', label: 'Run', group: 'run', sortValue: (r) => runLabel(r).toLowerCase(), text: (r) => `${runLabel(r)} ${r.id} ${r.notes ?? ''}` };

/** Validation bits/dim at a time mark: comparable across runs at equal minutes of training. */
function markColumn(minutes: number): RunColumn {
  const value = (r: RunSummary) => r.valBpdAt.find((a) => a.minutes === minutes)?.valBpd ?? null;
  return {
    key: `at.${minutes}`,
    label: markLabel(minutes),
    help: `Validation bits/dim when the run's training clock (evaluations, checkpoints and setup included) passed ${markLabel(minutes)}; — where it has not`,
    group: 'run',
    numeric: true,
    sortValue: value,
    text: (r) => bpd(value(r)),
    note: (r) => (value(r) === null ? null : noisedDataNote(r.model)),
  };
}

/** Whether a run's model is class-conditional. */
const conditional = (r: RunSummary) => ((r.model as { classes?: number }).classes ?? 0) > 0;

/** A class-conditional run's result: blank for an unconditional run, a dash before its first validation. */
function classColumn(key: 'lastValBpdUnconditional' | 'lastValAccuracy', label: string, help: string, format: (v: number | null) => string, note?: RunColumn['note']): RunColumn {
  return {
    key, label, help, group: 'run', numeric: true, appliesTo: conditional,
    sortValue: (r) => r[key],
    text: (r) => (conditional(r) ? format(r[key]) : ''),
    ...(note ? { note } : {}),
  };
}

/** Status, progress and result first: on a narrow window they are what shows beside the name. */
const RUN_COLUMNS: RunColumn[] = [
  { key: 'status', label: 'Status', group: 'run', sortValue: (r) => r.status, text: (r) => r.status },
  { key: 'step', label: 'Progress', group: 'run', sortValue: (r) => r.step, text: (r) => `${r.step} / ${r.train.steps}` },
  { key: 'lastValBpd', label: 'Val bits/dim', help: "The last validation bits/dim; a class-conditional run's are given each image's class", group: 'run', numeric: true, sortValue: (r) => r.lastValBpd, text: (r) => bpd(r.lastValBpd), note: (r) => (r.lastValBpd === null ? null : noisedDataNote(r.model)) },
  classColumn('lastValBpdUnconditional', 'Uncond. bits/dim', "A class-conditional run's last validation bits/dim of p(x), summed over its classes: comparable with an unconditional run's", bpd, (r) => (r.lastValBpdUnconditional === null ? null : noisedDataNote(r.model))),
  classColumn('lastValAccuracy', 'Class accuracy', "A class-conditional run's last validation accuracy: the share of images whose most likely class (by log p(x | class)) is their own", percent),
  ...TIME_MARKS_MINUTES.map(markColumn),
  { key: 'created', label: 'Created', group: 'run', sortValue: (r) => r.created, text: (r) => shortDate(r.created) },
  { key: 'folder', label: 'Data', group: 'run', sortValue: (r) => r.folder, text: (r) => r.folder.split(/[\\/]/).slice(-2).join('/') },
  { key: 'model.kind', label: modelKindField.label, group: 'model', sortValue: (r) => r.model.kind, text: (r) => modelKindField.optionLabels[r.model.kind] },
];

export const runColumns: readonly RunColumn[] = [...RUN_COLUMNS, ...settingColumns('model', modelFields), ...settingColumns('train', trainFields)];

