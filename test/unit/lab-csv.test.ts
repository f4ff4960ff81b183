// CSV targets: numeric rows parsed strictly, standardised on the training rows, 10% held out by
// seed, and every refusal naming the file, line and column without quoting the file's contents.
import { describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../main/engine/random.ts';
import { csvTarget, parseCsvTable, readCsvText } from '../../main/engine/lab/targets/csv-table.ts';
import { resolveTarget } from '../../main/engine/lab/targets/index.ts';
import { expectClose } from '../helpers/expect-close.ts';

/** `rows` lines of three columns with some spread, after an optional header. */
function table(rows: number, header = 'height,weight,age'): string {
  const lines = Array.from({ length: rows }, (_, i) => `${150 + i},${(i * 7) % 13}.5,${20 + ((i * i) % 17)}`);
  return [header, ...lines].filter((l) => l !== '').join('\n') + '\n';
}

const parse = (text: string, seed = 0) => parseCsvTable(text, '/data/people.csv', new Rng(seed));

describe('Lab CSV tables', () => {
  it('standardises columns on the training rows and holds out 10% by seed', () => {
    const t = parse(table(50));
    expect([t.columns, t.hasHeader, t.trainLines.length, t.testLines.length]).toEqual([3, true, 45, 5]);
    for (let c = 0; c < 3; c++) {
      const col = Array.from({ length: 45 }, (_, r) => t.train[r * 3 + c]);
      const mean = col.reduce((a, b) => a + b, 0) / 45;
      expectClose(mean, 0, 1e-5);
      expectClose(col.reduce((a, b) => a + (b - mean) ** 2, 0) / 45, 1, 1e-4);
    }
    // Line numbers count the header: the first data line is line 2, holding 150 in column 1.
    const all = [...t.trainLines, ...t.testLines].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    const r = t.testLines[0] - 2;
    expectClose(t.test[0] * t.std[0] + t.mean[0], 150 + r, 1e-4);
    expect(Array.from(parse(table(50), 0).testLines)).toEqual(Array.from(t.testLines));
    expect(Array.from(parse(table(50), 1).testLines)).not.toEqual(Array.from(t.testLines));
  });

  it('reads files without a header, with ; or tab, quotes, CRLF and blank lines', () => {
    expect(parse(table(10, '')).hasHeader).toBe(false);
    expect(parse(table(10, '')).trainLines.length + parse(table(10, '')).testLines.length).toBe(10);
    const semicolons = parse('"a";"b"\r\n1;2\r\n\r\n3;5\r\n4;4\r\n');
    expect([semicolons.columns, semicolons.hasHeader, semicolons.trainLines.length + semicolons.testLines.length]).toEqual([2, true, 3]);
    const tabs = parse('1\t2\n3\t"5"\n\n4\t4.5e0\n');
    expect([tabs.columns, tabs.hasHeader]).toEqual([2, false]);
  });

  const refusals: [string, string, RegExp][] = [
    ['a missing value', 'a,b\n1,2\n3,\n4,5\n', /people\.csv, line 3, column 2: the value is missing/],
    ['a non-numeric value', 'a,b\n1,2\n3,4\nbanana,5\n', /people\.csv, line 4, column 1: the value is not a number/],
    ['a short row', 'a,b,c\n1,2,3\n4,5\n', /people\.csv, line 3: 2 values where the first line has 3/],
    ['an unclosed quote', 'a,b\n1,"2\n3,4\n', /people\.csv, line 2: a quoted value is never closed/],
    ['too many columns', Array.from({ length: 65 }, (_, i) => i).join(',') + '\n', /has 65 columns; the Lab models at most 64/],
    ['one row', 'a,b\n1,2\n', /people\.csv has 1 data row; the Lab needs at least 2/],
    ['one column', 'a\n1\n2\n', /people\.csv has 1 column/],
    ['an empty file', '\n\n', /people\.csv is empty/],
    ['a constant column', 'a,b\n1,7\n2,7\n3,7\n', /people\.csv, column 2: every training row has the same value/],
    ['an infinite value', 'a,b\n1,2\n3,1e999\n', /line 3, column 2: the value is too large/],
  ];
  for (const [what, text, message] of refusals) {
    it(`refuses ${what}, naming where`, () => {
      expect(() => parse(text)).toThrow(message);
      try {
        parse(text);
      } catch (err) {
        expect((err as Error).message).not.toMatch(/banana/);
      }
    });
  }

  it('takes 64 columns', () => {
    const row = (k: number) => Array.from({ length: 64 }, (_, i) => (i + k) % 7).join(',');
    expect(parse([row(1), row(2), row(3), row(7)].join('\n')).columns).toBe(64);
  });

  it('file errors name the file; a file outside the allowed folders is refused', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'lab-csv-'));
    await expect(readCsvText(join(folder, 'nope.csv'))).rejects.toThrow(/nope\.csv does not exist/);
    await mkdir(join(folder, 'dir.csv'));
    await expect(readCsvText(join(folder, 'dir.csv'))).rejects.toThrow(/dir\.csv is not a regular file/);
    const inside = join(folder, 'inside');
    await mkdir(inside);
    await writeFile(join(folder, 'outside.csv'), table(5));
    await symlink(join(folder, 'outside.csv'), join(inside, 'link.csv'));
    await expect(readCsvText(join(inside, 'link.csv'), [inside])).rejects.toThrow(/link\.csv leads outside the folders FlowDesk may read/);
    expect(await readCsvText(join(inside, 'link.csv'), [folder])).toBe(table(5));
  });

  it('a CSV target samples training rows and carries the held-out rows', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'lab-csv-'));
    const file = join(folder, 'people.csv');
    await writeFile(file, table(40));
    const target = await resolveTarget({ kind: 'csv', file }, new Rng(3));
    const t = parse(table(40), 3);
    expect(Array.from(target.heldOut!)).toEqual(Array.from(t.test));
    expect(Array.from(target.table!.testLines)).toEqual(Array.from(t.testLines));
    expect([target.label, target.dim, target.kind]).toEqual(['people.csv', 3, 'samples']);
    const trainRows = new Set(Array.from({ length: 36 }, (_, r) => t.train.subarray(r * 3, r * 3 + 3).join()));
    const drawn = target.sample!(50, new Rng(1));
    for (let i = 0; i < 50; i++) expect(trainRows.has(drawn.subarray(i * 3, i * 3 + 3).join())).toBe(true);
    const bounds = csvTarget(t).bounds;
    expect(bounds.every(([lo, hi]) => lo < -1 && hi > 1)).toBe(true);
  });
});
