// The rows of a table scored by a Lab model trained on it, least likely first: the anomalies a
// person looks at (`flowdesk lab --rank`, the Lab view's table) and the CSV file they export.
import { ConfigError } from '../errors.ts';
import { Rng } from '../random.ts';
import { modelLogDensity } from './lab-evaluate.ts';
import type { LabModel } from './lab-model.ts';
import { openLabModel } from './lab-session.ts';
import { resolveTarget } from './targets/index.ts';
import type { CsvTable } from './targets/target.ts';

export interface RankedRow {
  /** 1-based line in the file. */
  line: number;
  /** Whether the row was held out of training (scored for test NLL). */
  heldOut: boolean;
  /** -log q of the standardised row, in nats (the units of test NLL). */
  nll: number;
  /** The row in the file's units, recovered from its standardised form (float32: about 7 significant digits). */
  values: number[];
}

/** Every row of `table`, training and held-out, scored by `model`, highest NLL first (ties by line). */
export function rankTableRows(model: LabModel, table: CsvTable): RankedRow[] {
  if (model.dim !== table.columns) {
    throw new ConfigError('BAD_ARGUMENT', `The model has ${model.dim} dimensions but ${table.file} has ${table.columns} columns.`);
  }
  const rows: RankedRow[] = [];
  for (const [data, lines, heldOut] of [[table.train, table.trainLines, false], [table.test, table.testLines, true]] as const) {
    const logQ = modelLogDensity(model, data);
    lines.forEach((line, r) => {
      const values = Array.from(data.subarray(r * table.columns, (r + 1) * table.columns), (z, c) => Number((z * table.std[c] + table.mean[c]).toPrecision(7)));
      rows.push({ line, heldOut, nll: -logQ[r], values });
    });
  }
  // A row the model gives no density at all (NaN) is the least likely of all.
  const key = (r: RankedRow) => (Number.isNaN(r.nll) ? Infinity : r.nll);
  return rows.sort((a, b) => key(b) - key(a) || a.line - b.line);
}

/**
 * The rows of saved Lab model `id`'s table, ranked: the table is read again and split with the
 * model's seed, so the held-out rows are the ones it was tested on. `roots` as for resolveTarget.
 */
export async function rankLabModelRows(runsDir: string, id: string, roots?: readonly string[]): Promise<{ table: CsvTable; rows: RankedRow[] }> {
  const { json, model } = await openLabModel(runsDir, id);
  try {
    if (json.target.kind !== 'csv') throw new ConfigError('BAD_ARGUMENT', `Lab model ${id} learned a ${json.target.kind} target, not a CSV table; only a model of a table ranks rows.`);
    const { table } = await resolveTarget(json.target, new Rng(json.settings.seed), { roots });
    return { table: table!, rows: rankTableRows(model, table!) };
  } finally {
    model.dispose();
  }
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The ranking as CSV text: rank, line, held_out, nll, then the row's values under the file's own header (or column_1...). */
export function rankedRowsCsv(table: CsvTable, rows: readonly RankedRow[]): string {
  const names = table.header ?? Array.from({ length: table.columns }, (_, c) => `column_${c + 1}`);
  const header = ['rank', 'line', 'held_out', 'nll', ...names].map(csvField).join(',');
  const lines = rows.map((r, i) => [i + 1, r.line, r.heldOut, Number(r.nll.toPrecision(7)), ...r.values].join(','));
  return `${[header, ...lines].join('\n')}\n`;
}
