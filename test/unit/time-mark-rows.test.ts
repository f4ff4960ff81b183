// Reading a run's time-mark answers for the listing (issue 16): the reader keeps its place in
// metrics.jsonl and reads only what was appended, waits for a line still being written, and
// starts over when the file is rewritten (a resume's truncation), even to a longer one.
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomically } from '../../main/engine/fs/atomic-write.ts';
import { metricsPath } from '../../main/engine/runs/run-layout.ts';
import { timeMarkResults } from '../../main/engine/runs/time-mark-rows.ts';

let runDir: string;
const row = (step: number, valBpd: number, marks?: number[]) => `${JSON.stringify({ type: 'eval', step, time: step, valBpd, ...(marks ? { marks } : {}) })}\n`;
const found = async () => (await timeMarkResults(runDir)).map((a) => [a.minutes, a.step, a.valBpd]);

beforeAll(async () => {
  runDir = await mkdtemp(join(tmpdir(), 'flowdesk-mark-rows-'));
});
afterAll(async () => {
  await rm(runDir, { recursive: true, force: true });
});

describe('time-mark answers of a run', () => {
  it('has none without metrics', async () => {
    expect(await found()).toEqual([]);
  });

  it('follows appends, waiting for a line still being written', async () => {
    await writeFile(metricsPath(runDir), row(1, 5) + row(2, 4.5, [1]) + row(3, 4.4));
    expect(await found()).toEqual([[1, 2, 4.5]]);
    const next = row(6, 4, [3, 10]);
    await appendFile(metricsPath(runDir), next.slice(0, 20));
    expect(await found()).toEqual([[1, 2, 4.5]]);
    await appendFile(metricsPath(runDir), next.slice(20));
    expect(await found()).toEqual([[1, 2, 4.5], [3, 6, 4], [10, 6, 4]]);
  });

  it('reads a rewritten file afresh, even one longer than before', async () => {
    await writeFileAtomically(metricsPath(runDir), row(1, 5) + row(2, 3.25, [1]) + row(3, 3.2) + row(4, 3.1) + row(5, 3.0) + row(6, 2.9));
    expect(await found()).toEqual([[1, 2, 3.25]]);
  });
});
