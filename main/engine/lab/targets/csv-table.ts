// A CSV file of numeric rows as a Lab target: parsed strictly (any missing or non-numeric value
// is named by line and column), columns standardised on the training rows, 10% held out (seeded).
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { DataError } from '../../errors.ts';
import { openedInsideRoots } from '../../fs/real-paths.ts';
import type { Rng } from '../../random.ts';
import type { CsvTable, Target } from './target.ts';

export const MAX_CSV_COLUMNS = 64;
export const MAX_CSV_BYTES = 100 * 1024 * 1024;
/** The share of rows held out for test NLL (rounded, and at most all but two rows). */
export const HELD_OUT_FRACTION = 0.1;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The fields of one line: separated by `delimiter`, double quotes around a field allowed ("" is a quote). */
function splitFields(line: string, delimiter: string, where: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    while (line[i] === ' ' || (line[i] === '\t' && delimiter !== '\t')) i++;
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new DataError('BAD_ARGUMENT', `${where}: a quoted value is never closed; close it with '"'.`);
        if (line[i] === '"' && line[i + 1] !== '"') break;
        field += line[i];
        i += line[i] === '"' ? 2 : 1;
      }
      i++;
      while (i < line.length && line[i] !== delimiter) field += line[i++];
    } else {
      while (i < line.length && line[i] !== delimiter) field += line[i++];
    }
    fields.push(field.trim());
    if (i >= line.length) return fields;
    i++; // the delimiter
  }
}

/** The first of , ; and tab found on the header or first row. */
function delimiterOf(line: string): string {
  return [',', ';', '\t'].find((d) => line.includes(d)) ?? ',';
}

/** Splits the rows into (train, test) line numbers: a seeded HELD_OUT_FRACTION goes to test. */
function holdOut(lines: number[], rng: Rng): { train: number[]; test: number[] } {
  const held = Math.min(Math.round(lines.length * HELD_OUT_FRACTION), lines.length - 2);
  const order = rng.permutation(lines.length);
  const isTest = new Uint8Array(lines.length);
  for (let k = 0; k < held; k++) isTest[order[k]] = 1;
  return { train: lines.filter((_, i) => !isTest[i]), test: lines.filter((_, i) => isTest[i]) };
}

/**
 * Parses `text` (the contents of `file`, named in every error). Values are decimal numbers;
 * blank lines are skipped; a first line with no number in it is a header. Errors never quote the
 * file's contents, only where and what is wrong.
 */
export function parseCsvTable(text: string, file: string, rng: Rng): CsvTable {
  const name = basename(file);
  const allLines = text.split(/\r\n|\n|\r/);
  const numbered = allLines.map((line, i) => ({ line, at: i + 1 })).filter(({ line }) => line.trim() !== '');
  if (numbered.length === 0) throw new DataError('BAD_ARGUMENT', `${name} is empty; a CSV target needs rows of numbers.`);
  const delimiter = delimiterOf(numbered[0].line);
  const first = splitFields(numbered[0].line, delimiter, `${name}, line ${numbered[0].at}`);
  const hasHeader = first.every((f) => !NUMBER.test(f));
  const columns = first.length;
  if (columns > MAX_CSV_COLUMNS) {
    throw new DataError('BAD_ARGUMENT', `${name} has ${columns} columns; the Lab models at most ${MAX_CSV_COLUMNS}: keep the columns to model and save it again.`);
  }
  if (columns < 2) throw new DataError('BAD_ARGUMENT', `${name} has 1 column; the Lab models 2 to ${MAX_CSV_COLUMNS} columns (separated by , ; or tab).`);
  const dataLines = hasHeader ? numbered.slice(1) : numbered;
  if (dataLines.length < 2) {
    throw new DataError('BAD_ARGUMENT', `${name} has ${dataLines.length} data row${dataLines.length === 1 ? '' : 's'}; the Lab needs at least 2.`);
  }
  const values = new Map<number, Float64Array>();
  for (const { line, at } of dataLines) {
    const fields = splitFields(line, delimiter, `${name}, line ${at}`);
    if (fields.length !== columns) {
      throw new DataError('BAD_ARGUMENT', `${name}, line ${at}: ${fields.length} values where the first line has ${columns}; every row needs one value per column.`);
    }
    const row = new Float64Array(columns);
    fields.forEach((f, c) => {
      const where = `${name}, line ${at}, column ${c + 1}`;
      if (f === '') throw new DataError('BAD_ARGUMENT', `${where}: the value is missing; fill it in or remove the row.`);
      if (!NUMBER.test(f)) throw new DataError('BAD_ARGUMENT', `${where}: the value is not a number; the Lab models numeric columns only.`);
      row[c] = Number(f);
      if (!Number.isFinite(row[c])) throw new DataError('BAD_ARGUMENT', `${where}: the value is too large to be a finite number.`);
    });
    values.set(at, row);
  }
  const split = holdOut([...values.keys()], rng);
  const mean = new Float64Array(columns);
  const std = new Float64Array(columns);
  for (let c = 0; c < columns; c++) {
    const column = split.train.map((at) => values.get(at)![c]);
    mean[c] = column.reduce((a, b) => a + b, 0) / column.length;
    std[c] = Math.sqrt(column.reduce((a, b) => a + (b - mean[c]) ** 2, 0) / column.length);
    if (!(std[c] > 0)) {
      throw new DataError('BAD_ARGUMENT', `${name}, column ${c + 1}: every training row has the same value, so it has no spread to model; remove the column.`);
    }
  }
  const standardise = (lines: number[]): Float32Array => {
    const out = new Float32Array(lines.length * columns);
    lines.forEach((at, r) => values.get(at)!.forEach((v, c) => (out[r * columns + c] = (v - mean[c]) / std[c])));
    return out;
  };
  return {
    file, columns, hasHeader, mean, std,
    header: hasHeader ? first : null,
    train: standardise(split.train),
    test: standardise(split.test),
    trainLines: Int32Array.from(split.train),
    testLines: Int32Array.from(split.test),
  };
}

/**
 * Reads `file` as UTF-8 text, refusing what is not a regular file or over MAX_CSV_BYTES, and
 * with `roots` (the app's allowed folders) a file that really lies outside them. It is opened
 * without blocking and judged by what was opened, as model files are (runs/model-folder.ts).
 */
export async function readCsvText(file: string, roots?: readonly string[]): Promise<string> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError('IO_ERROR', `${file} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}; choose a CSV file of numeric rows.`);
  }
  try {
    if (roots && !(await openedInsideRoots(handle, file, roots))) {
      throw new DataError('BAD_ARGUMENT', `${file} leads outside the folders FlowDesk may read; copy it into them.`);
    }
    const info = await handle.stat();
    if (!info.isFile()) throw new DataError('BAD_ARGUMENT', `${file} is not a regular file (a folder, device or pipe); choose a CSV file.`);
    if (info.size > MAX_CSV_BYTES) {
      throw new DataError('BAD_ARGUMENT', `${file} is ${info.size.toLocaleString('en')} bytes, over the ${MAX_CSV_BYTES.toLocaleString('en')}-byte limit for a CSV target.`);
    }
    return await handle.readFile('utf8');
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError('IO_ERROR', `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  } finally {
    await handle.close();
  }
}

/** The table's training rows as samples (drawn with replacement), its test rows held out. */
export function csvTarget(table: CsvTable): Target {
  const { columns, train } = table;
  const rows = train.length / columns;
  const bounds = Array.from({ length: columns }, (_, c) => {
    let [lo, hi] = [Infinity, -Infinity];
    for (const data of [train, table.test]) {
      for (let r = c; r < data.length; r += columns) [lo, hi] = [Math.min(lo, data[r]), Math.max(hi, data[r])];
    }
    const pad = 0.05 * (hi - lo);
    return [lo - pad, hi + pad] as const;
  });
  return {
    kind: 'samples',
    dim: columns,
    label: basename(table.file),
    bounds,
    heldOut: table.test,
    table,
    sample(n: number, rng: Rng): Float32Array {
      const out = new Float32Array(n * columns);
      for (let i = 0; i < n; i++) {
        const row = rng.int(rows);
        out.set(train.subarray(row * columns, (row + 1) * columns), i * columns);
      }
      return out;
    },
  };
}
