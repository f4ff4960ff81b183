// A table's rows by how unlikely a trained Lab model finds them, least likely first: the anomalies
// of a CSV target, each with its line in the file and its values in the file's own units.
import type { LabModel } from './lab-model.ts';
import { modelLogDensity } from './lab-evaluate.ts';
import type { CsvTable } from './targets/target.ts';

export interface RankedRow {
  /** 1-based line in the file. */
  line: number;
  /** -log q of the standardised row, in nats (the units of the model's test NLL). */
  nll: number;
  /** Whether the row was held out of training (scored for the test NLL). */
  heldOut: boolean;
  /** The row as written in the file. */
  values: number[];
}

export function rankTableRows(model: LabModel, table: CsvTable): RankedRow[] {
  const rows: RankedRow[] = [];
  for (const [standardised, lines, heldOut] of [[table.train, table.trainLines, false], [table.test, table.testLines, true]] as const) {
    const logq = modelLogDensity(model, standardised);
    lines.forEach((line, i) => {
      const values = Array.from({ length: table.columns }, (_, c) => standardised[i * table.columns + c] * table.std[c] + table.mean[c]);
      rows.push({ line, nll: -logq[i], heldOut, values });
    });
  }
  // NaN (a model that failed on a row) sorts first: such a row is the least explained of all.
  const key = (r: RankedRow) => (Number.isNaN(r.nll) ? Infinity : r.nll);
  return rows.sort((a, b) => Number(key(b) > key(a)) - Number(key(b) < key(a)));
}
