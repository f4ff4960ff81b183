// Run folders: never reused or nested, run.json validated, metrics appended as whole lines, a
// torn last line repaired (but never while a live trainer holds the run), resume truncation,
// listing with status (a live lock reads as training).
import { type ChildProcess } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireRunLock } from '../../main/engine/checkpoint/run-lock.ts';
import { createRunDir } from '../../main/engine/runs/create-run.ts';
import { appendMetric, readMetrics, truncateMetricsAfter } from '../../main/engine/runs/metrics.ts';
import { readRunJson, writeRunJson, type RunJson } from '../../main/engine/runs/run-json.ts';
import { listRuns } from '../../main/engine/runs/run-list.ts';
import { writeRunStatus } from '../../main/engine/runs/run-status.ts';
import { lockHeldElsewhere } from '../helpers/foreign-lock.ts';

let root: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowdesk-run-'));
});
afterEach(async () => {
  for (const c of children.splice(0)) c.kill();
  await rm(root, { recursive: true, force: true });
});

/** A valid run.json, as the trainer writes it, with `changes` on top. */
function runJson(changes: Partial<RunJson> = {}): RunJson {
  return {
    format: 'flowdesk.run',
    version: 1,
    name: 'r',
    created: '2026-01-02T03:04:05.000Z',
    model: { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8, coupling: 'affine', permutation: 'invconv' } as RunJson['model'],
    train: { steps: 10, nBits: 8, optimizer: { kind: 'adam', lr: 0.001, warmup: 0 } } as unknown as RunJson['train'],
    data: { folder: '/images', bundled: false, fingerprint: 'abc', train: 8, val: 2, skipped: 0 },
    backend: { name: 'cpu', tfBackend: 'cpu' },
    versions: { flowdesk: '0.0.0', node: process.versions.node },
    ...changes,
  };
}

/** Writes a lock held by a process that stays alive until the test ends. */
async function lockedByAnotherProcess(runDir: string): Promise<number> {
  const child = await lockHeldElsewhere(runDir);
  children.push(child);
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

  it('never nests a run inside another run', async () => {
    const run = await createRunDir(root, 'outer');
    await writeRunJson(run, runJson());
    await expect(createRunDir(run)).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining(`${run} is a run, not a folder of runs`) });
    expect((await readdir(run)).sort()).toEqual(['checkpoints', 'run.json', 'samples']);
  });

  it('writes run.json atomically and reads back only a valid one, naming the field at fault', async () => {
    const dir = await createRunDir(root, 'r');
    const run = runJson();
    await writeRunJson(dir, run);
    // The model was written before Glow's couplingNet and topPrior existed: it reads back with
    // the layers it was trained with (and the spline's settings, unused by affine couplings, at their
    // defaults), unconditional, with the class loss weight at its default, trained for no restoration task.
    expect(await readRunJson(dir)).toEqual({ ...run, model: { ...run.model, couplingNet: 'bias', topPrior: 'position', bins: 8, tailBound: 3, classes: 0, classWeight: 0.01, restoreTask: 'none' } });
    expect((await readdir(dir)).filter((n) => n.includes('tmp'))).toEqual([]);
    await expect(readRunJson(join(root, 'none'))).rejects.toMatchObject({ code: 'NO_CHECKPOINT', message: expect.stringContaining('no run.json') });
    await writeFile(join(dir, 'run.json'), '{"a":');
    await expect(readRunJson(dir)).rejects.toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringMatching(/run\.json is not valid JSON/) });
    await writeFile(join(dir, 'run.json'), '[1, 2]');
    await expect(readRunJson(dir)).rejects.toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringContaining('run.json: the top level is wrong') });
    const path = join(dir, 'run.json');
    type Loose = Record<string, Record<string, unknown>>;
    const damaged: [(r: Loose) => void, RegExp][] = [
      [(r) => delete r.train.optimizer, /run\.json: "train\.optimizer" is wrong/],
      [(r) => ((r as Record<string, unknown>).format = 'other'), /run\.json: "format" is wrong/],
      [(r) => (r.data.train = -1), /run\.json: "data\.train" is wrong/],
      [(r) => (r.model.kind = 3), /run\.json: "model\.kind" is wrong/],
    ];
    for (const [damage, message] of damaged) {
      const copy = structuredClone(run) as unknown as Loose;
      damage(copy);
      await writeFile(path, JSON.stringify(copy));
      await expect(readRunJson(dir)).rejects.toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringMatching(message) });
    }
    // model and train are checked for shape only: a stored value outside today's bounds still loads.
    await writeFile(path, JSON.stringify({ ...run, model: { ...run.model, hidden: 10 ** 9 }, train: { ...run.train, batch: 10 ** 9 } }));
    expect((await readRunJson(dir)).model).toMatchObject({ hidden: 10 ** 9 });
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

  it('skips garbled or invalid whole lines without failing, counts them and names the first', async () => {
    const dir = await createRunDir(root, 'r');
    await writeFile(join(dir, 'metrics.jsonl'), '{"type":"train","step":1}\nnot json\n[1,2]\n\n{"type":"eval","step":"2"}\n{"type":"train","step":2}\n');
    const read = await readMetrics(dir);
    expect(read).toMatchObject({ rows: [{ type: 'train', step: 1 }, { type: 'train', step: 2 }], torn: false, skipped: 3 });
    // The position, never the line's text: the file may hold anything.
    expect(read.problem).toBe(`${join(dir, 'metrics.jsonl')} line 2 is not valid JSON; the file is damaged or from another program.`);
    await writeFile(join(dir, 'metrics.jsonl'), '{"type":"train","step":1}\n{"type":"eval","step":-2}\n');
    expect((await readMetrics(dir)).problem).toMatch(/metrics\.jsonl line 2: "step" is wrong/);
  });

  it('never cuts the file while a live process holds the run: its last line may be a write in progress', async () => {
    const dir = await createRunDir(root, 'r');
    await writeFile(join(dir, 'metrics.jsonl'), '{"type":"train","step":1}\n{"type":"train","step":2,"lo');
    const pid = await lockedByAnotherProcess(dir);
    expect(await readMetrics(dir)).toEqual({ rows: [{ type: 'train', step: 1 }], torn: true, skipped: 0 });
    expect(await readFile(join(dir, 'metrics.jsonl'), 'utf8')).toBe('{"type":"train","step":1}\n{"type":"train","step":2,"lo');
    await expect(truncateMetricsAfter(dir, 0)).rejects.toMatchObject({ code: 'RUN_LOCKED', message: expect.stringContaining(`process ${pid}`) });
    expect(await readFile(join(dir, 'metrics.jsonl'), 'utf8')).toBe('{"type":"train","step":1}\n{"type":"train","step":2,"lo');
  });

  it('on resume drops rows after the checkpoint step and any torn tail, rewriting atomically', async () => {
    const dir = await createRunDir(root, 'r');
    for (let step = 1; step <= 6; step++) await appendMetric(dir, { type: step % 3 === 0 ? 'eval' : 'train', step });
    await appendMetric(dir, { type: 'note', step: 2 }); // kinds this version does not know are kept
    await appendFile(join(dir, 'metrics.jsonl'), '{"type":"tr');
    const before = await readFile(join(dir, 'metrics.jsonl'), 'utf8');
    // Without the lock, nothing is rewritten.
    await expect(truncateMetricsAfter(dir, 3)).rejects.toMatchObject({ code: 'RUN_LOCKED' });
    expect(await readFile(join(dir, 'metrics.jsonl'), 'utf8')).toBe(before);
    const lock = await acquireRunLock(dir);
    await truncateMetricsAfter(dir, 3);
    expect(await readFile(join(dir, 'metrics.jsonl'), 'utf8')).toBe(
      ['{"type":"train","step":1}', '{"type":"train","step":2}', '{"type":"eval","step":3}', '{"type":"note","step":2}', ''].join('\n'),
    );
    expect((await readdir(dir)).filter((n) => n.includes('tmp'))).toEqual([]);
    await truncateMetricsAfter(dir, 1);
    await lock.release();
    expect((await readMetrics(dir)).rows).toEqual([{ type: 'train', step: 1 }]);
    const empty = await createRunDir(root, 'no-metrics-yet');
    const emptyLock = await acquireRunLock(empty);
    await truncateMetricsAfter(empty, 5);
    await emptyLock.release();
  });
});

describe('listing runs', () => {
  it('lists folders with a valid run.json, newest first, with step, last validation and status', async () => {
    const a = await createRunDir(root, 'a');
    await writeRunJson(a, runJson({ created: '2026-01-01T00:00:00.000Z' }));
    const b = await createRunDir(root, 'b');
    await writeRunJson(b, runJson({ created: '2026-03-01T00:00:00.000Z' }));
    for (let step = 1; step <= 3; step++) await appendMetric(b, { type: 'train', step, loss: step });
    await appendFile(join(b, 'metrics.jsonl'), '{"torn'); // ignored: the last whole row counts
    const c = await createRunDir(root, 'c');
    await writeRunJson(c, runJson({ created: '2026-02-01T00:00:00.000Z' }));
    await appendMetric(c, { type: 'eval', step: 9, valBpd: 3.5 });
    await appendMetric(c, { type: 'eval', step: 10, valBpd: 3.25, pad: 'y'.repeat(300_000) });
    // The last evaluation lies before the tail a listing reads: found all the same.
    for (let step = 11; step <= 12; step++) await appendMetric(c, { type: 'train', step, pad: 'z'.repeat(200_000) });
    await mkdir(join(root, 'not-a-run'));
    const broken = await createRunDir(root, 'broken');
    await writeFile(join(broken, 'run.json'), '{');
    await writeFile(join(root, 'stray-file'), 'x');

    const { runs, broken: skipped } = await listRuns(root);
    expect(runs.map((r) => r.id)).toEqual(['b', 'c', 'a']);
    expect(runs[0]).toMatchObject({ dir: b, id: 'b', created: '2026-03-01T00:00:00.000Z', step: 3, lastValBpd: null, status: { status: 'paused' } });
    expect(runs[1]).toMatchObject({ step: 12, lastValBpd: 3.25, status: { status: 'finished' } });
    expect(runs[2]).toMatchObject({ step: 0, lastValBpd: null, status: { status: 'paused' } });
    expect(skipped).toEqual([{ dir: broken, problem: expect.stringContaining('run.json is not valid JSON') }]);
    expect(await readFile(join(b, 'metrics.jsonl'), 'utf8')).toMatch(/\{"torn$/); // listing never writes
    expect(await listRuns(join(root, 'missing'))).toEqual({ runs: [], broken: [] });
  });

  it('reads status.json, says training while a live process holds the lock, and names a damaged field', async () => {
    const d = await createRunDir(root, 'd');
    await writeRunJson(d, runJson());
    await writeRunStatus(d, { status: 'cancelled' });
    expect((await listRuns(root)).runs[0].status).toEqual({ status: 'cancelled' });
    await writeRunStatus(d, { status: 'training' }); // its trainer died: resumable
    expect((await listRuns(root)).runs[0].status).toEqual({ status: 'paused' });
    await lockedByAnotherProcess(d); // e.g. `flowdesk train` in a terminal
    expect((await listRuns(root)).runs[0].status).toEqual({ status: 'training' });
    await rm(join(d, '.lock'));
    await writeFile(join(d, 'status.json'), '{"status":"sleeping"}');
    expect((await listRuns(root)).broken).toEqual([{ dir: d, problem: expect.stringMatching(/status\.json: "status" is wrong/) }]);
  });

  it('dates a run.json without a usable "created" by the file itself', async () => {
    const d = await createRunDir(root, 'd');
    await writeRunJson(d, runJson({ created: 'yesterday' }));
    const [only] = (await listRuns(root)).runs;
    expect(only.created).toBe(new Date((await stat(join(d, 'run.json'))).mtimeMs).toISOString());
  });
});
