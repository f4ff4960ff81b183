// Run folders: never reused, run.json validated, metrics appended as whole lines, a torn last
// line repaired (but never while a live trainer holds the run), resume truncation, listing.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendMetric,
  createRunDir,
  listRuns,
  readMetrics,
  readRunJson,
  truncateMetricsAfter,
  writeRunJson,
} from '../../main/engine/checkpoint/run-folder.ts';
import { acquireRunLock } from '../../main/engine/checkpoint/run-lock.ts';

let root: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowdesk-run-'));
});
afterEach(async () => {
  for (const c of children.splice(0)) c.kill();
  await rm(root, { recursive: true, force: true });
});

/** Writes a lock held by a process that stays alive until the test ends. */
async function lockedByAnotherProcess(runDir: string): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  children.push(child);
  await writeFile(join(runDir, '.lock'), JSON.stringify({ pid: child.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' }));
  return child.pid!;
}

describe('run folders', () => {
  it('creates a fresh folder with samples/ and checkpoints/, named by time and a random suffix', async () => {
    const dir = await createRunDir(join(root, 'runs'));
    expect(dir.split('/').pop()).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-[0-9a-f]{4}$/);
    expect((await readdir(dir)).sort()).toEqual(['checkpoints', 'samples']);
    const many = await Promise.all(Array.from({ length: 20 }, () => createRunDir(join(root, 'runs'))));
    expect(new Set([dir, ...many]).size).toBe(21);
  });

  it('never reuses or overwrites an existing folder, and refuses unsafe names', async () => {
    const dir = await createRunDir(root, 'same');
    await writeFile(join(dir, 'run.json'), '{"keep": true}');
    await expect(createRunDir(root, 'same')).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining('already exists') });
    expect(await readFile(join(dir, 'run.json'), 'utf8')).toBe('{"keep": true}');
    for (const bad of ['../escape', 'a/b', '', '.hidden', 'x'.repeat(101), 'sp ace']) {
      await expect(createRunDir(root, bad)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    }
    expect(await readdir(root)).toEqual(['same']);
  });

  it('writes run.json atomically and reads back only an object', async () => {
    const dir = await createRunDir(root, 'r');
    const run = { config: { kind: 'glow', levels: 3 }, data: { fingerprint: 'abc' }, backend: { name: 'cpu' }, versions: { node: process.versions.node }, created: '2026-01-02T03:04:05.000Z' };
    await writeRunJson(dir, run);
    expect(await readRunJson(dir)).toEqual(run);
    expect((await readdir(dir)).filter((n) => n.includes('tmp'))).toEqual([]);
    await expect(writeRunJson(dir, [] as unknown as object)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(readRunJson(join(root, 'none'))).rejects.toMatchObject({ code: 'NO_CHECKPOINT', message: expect.stringContaining('no run.json') });
    await writeFile(join(dir, 'run.json'), '{"a":');
    await expect(readRunJson(dir)).rejects.toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringMatching(/run\.json is not valid JSON/) });
    await writeFile(join(dir, 'run.json'), '[1, 2]');
    await expect(readRunJson(dir)).rejects.toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringContaining('must hold a JSON object, not an array') });
  });
});

describe('metrics.jsonl', () => {
  it('appends whole lines, even many at once', async () => {
    const dir = await createRunDir(root, 'r');
    const long = 'x'.repeat(5000);
    await Promise.all(Array.from({ length: 60 }, (_, step) => appendMetric(dir, { type: 'train', step, note: long })));
    const text = await readFile(join(dir, 'metrics.jsonl'), 'utf8');
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(60);
    expect(lines.map((l) => JSON.parse(l).step).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    await expect(appendMetric(dir, [1] as unknown as object)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });

  it('reads a torn last line as missing without changing the file; resume cuts it and appends continue cleanly', async () => {
    const dir = await createRunDir(root, 'r');
    expect(await readMetrics(dir)).toEqual({ rows: [], torn: false, skipped: 0 });
    for (let step = 1; step <= 5; step++) await appendMetric(dir, { type: 'train', step, loss: 1 / step });
    const whole = await readFile(join(dir, 'metrics.jsonl'), 'utf8');
    await appendFile(join(dir, 'metrics.jsonl'), '{"type":"train","st');
    const first = await readMetrics(dir);
    expect(first.rows.map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
    expect(first.torn).toBe(true);
    expect(await readFile(join(dir, 'metrics.jsonl'), 'utf8')).toBe(`${whole}{"type":"train","st`);
    const lock = await acquireRunLock(dir);
    await truncateMetricsAfter(dir, 5);
    await lock.release();
    expect(await readFile(join(dir, 'metrics.jsonl'), 'utf8')).toBe(whole);
    await appendMetric(dir, { type: 'train', step: 6, loss: 1 / 6 });
    expect(await readMetrics(dir)).toMatchObject({ torn: false, skipped: 0 });
    expect((await readMetrics(dir)).rows.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('skips garbled whole lines without failing, and counts them', async () => {
    const dir = await createRunDir(root, 'r');
    await writeFile(join(dir, 'metrics.jsonl'), '{"step":1}\nnot json\n[1,2]\n\n{"step":2}\n');
    expect(await readMetrics(dir)).toEqual({ rows: [{ step: 1 }, { step: 2 }], torn: false, skipped: 2 });
  });

  it('never cuts the file while a live process holds the run: its last line may be a write in progress', async () => {
    const dir = await createRunDir(root, 'r');
    await writeFile(join(dir, 'metrics.jsonl'), '{"step":1}\n{"step":2,"lo');
    const pid = await lockedByAnotherProcess(dir);
    expect(await readMetrics(dir)).toEqual({ rows: [{ step: 1 }], torn: true, skipped: 0 });
    expect(await readFile(join(dir, 'metrics.jsonl'), 'utf8')).toBe('{"step":1}\n{"step":2,"lo');
    await expect(truncateMetricsAfter(dir, 0)).rejects.toMatchObject({ code: 'RUN_LOCKED', message: expect.stringContaining(`process ${pid}`) });
    expect(await readFile(join(dir, 'metrics.jsonl'), 'utf8')).toBe('{"step":1}\n{"step":2,"lo');
  });

  it('on resume drops rows after the checkpoint step and any torn tail, rewriting atomically', async () => {
    const dir = await createRunDir(root, 'r');
    for (let step = 1; step <= 6; step++) await appendMetric(dir, { type: step % 3 === 0 ? 'eval' : 'train', step });
    await appendMetric(dir, { type: 'note' }); // rows without a step are kept
    await appendFile(join(dir, 'metrics.jsonl'), '{"type":"tr');
    const before = await readFile(join(dir, 'metrics.jsonl'), 'utf8');
    // Without the lock, nothing is rewritten.
    await expect(truncateMetricsAfter(dir, 3)).rejects.toMatchObject({ code: 'RUN_LOCKED' });
    expect(await readFile(join(dir, 'metrics.jsonl'), 'utf8')).toBe(before);
    const lock = await acquireRunLock(dir);
    await truncateMetricsAfter(dir, 3);
    expect(await readFile(join(dir, 'metrics.jsonl'), 'utf8')).toBe(
      ['{"type":"train","step":1}', '{"type":"train","step":2}', '{"type":"eval","step":3}', '{"type":"note"}', ''].join('\n'),
    );
    expect((await readdir(dir)).filter((n) => n.includes('tmp'))).toEqual([]);
    await truncateMetricsAfter(dir, 1);
    await lock.release();
    expect((await readMetrics(dir)).rows).toEqual([{ type: 'train', step: 1 }, { type: 'note' }]);
    const empty = await createRunDir(root, 'no-metrics-yet');
    const emptyLock = await acquireRunLock(empty);
    await truncateMetricsAfter(empty, 5);
    await emptyLock.release();
  });
});

describe('listing runs', () => {
  it('lists folders with a readable run.json, newest first, with their last metrics row', async () => {
    const a = await createRunDir(root, 'a');
    await writeRunJson(a, { created: '2026-01-01T00:00:00.000Z', config: { kind: 'nice' } });
    const b = await createRunDir(root, 'b');
    await writeRunJson(b, { created: '2026-03-01T00:00:00.000Z', config: { kind: 'glow' } });
    for (let step = 1; step <= 3; step++) await appendMetric(b, { type: 'train', step, loss: step });
    await appendFile(join(b, 'metrics.jsonl'), '{"torn'); // ignored: the last whole row counts
    const c = await createRunDir(root, 'c');
    await writeRunJson(c, { created: '2026-02-01T00:00:00.000Z' });
    await appendMetric(c, { type: 'eval', step: 9, valBpd: 3.5, pad: 'y'.repeat(300_000) });
    await appendMetric(c, { type: 'eval', step: 10, valBpd: 3.25 });
    await mkdir(join(root, 'not-a-run'));
    await writeFile(join(await createRunDir(root, 'broken'), 'run.json'), '{');
    await writeFile(join(root, 'stray-file'), 'x');

    const runs = await listRuns(root);
    expect(runs.map((r) => r.name)).toEqual(['b', 'c', 'a']);
    expect(runs[0]).toEqual({
      dir: b,
      name: 'b',
      run: { created: '2026-03-01T00:00:00.000Z', config: { kind: 'glow' } },
      created: '2026-03-01T00:00:00.000Z',
      lastMetric: { type: 'train', step: 3, loss: 3 },
    });
    expect(runs[1].lastMetric).toEqual({ type: 'eval', step: 10, valBpd: 3.25 });
    expect(runs[2].lastMetric).toBeNull();
    expect(await readFile(join(b, 'metrics.jsonl'), 'utf8')).toMatch(/\{"torn$/); // listing never writes
    expect(await listRuns(join(root, 'missing'))).toEqual([]);
  });

  it('dates a run.json without a usable "created" by the file itself', async () => {
    const d = await createRunDir(root, 'd');
    await writeRunJson(d, { created: 'yesterday' });
    const [only] = await listRuns(root);
    expect(only.created).toBe(new Date((await stat(join(d, 'run.json'))).mtimeMs).toISOString());
  });
});
