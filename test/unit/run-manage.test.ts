// Managing runs from the Runs view: display names and notes (a side file), the trash (delete
// refused while a live process holds the lock, restore under the id, 30-day purge), the
// imported status, and the decimated curves getRun sends for long runs.
import { type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunDir } from '../../main/engine/runs/create-run.ts';
import { decimateMinMax } from '../../main/engine/runs/decimate.ts';
import { appendMetric } from '../../main/engine/runs/metrics.ts';
import { readRunInfo, updateRunInfo } from '../../main/engine/runs/run-info.ts';
import { writeRunJson, type RunJson } from '../../main/engine/runs/run-json.ts';
import { listRuns } from '../../main/engine/runs/run-list.ts';
import { listTrash, purgeTrash, restoreRun, trashRun, TRASH_DAYS } from '../../main/engine/runs/run-trash.ts';
import { ModelCache } from '../../main/worker/model-cache.ts';
import { RunsService } from '../../main/worker/runs-service.ts';
import { EngineService } from '../../main/worker/service.ts';
import { validateRequest } from '../../main/api-validation.ts';
import { lockHeldElsewhere } from '../helpers/foreign-lock.ts';

let root: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowdesk-manage-'));
});
afterEach(async () => {
  for (const c of children.splice(0)) c.kill();
  await rm(root, { recursive: true, force: true });
});

async function makeRun(id: string, changes: Partial<RunJson> = {}): Promise<string> {
  const dir = await createRunDir(root, id);
  await writeRunJson(dir, {
    format: 'flowdesk.run',
    version: 1,
    name: id,
    created: '2026-01-02T03:04:05.000Z',
    model: { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8, coupling: 'affine', permutation: 'invconv' } as RunJson['model'],
    train: { steps: 10, nBits: 8, optimizer: { kind: 'adam', lr: 0.001, warmup: 0 } } as unknown as RunJson['train'],
    data: { folder: '/images', bundled: false, fingerprint: 'abc', train: 8, val: 2, skipped: 0 },
    versions: { flowdesk: '0.0.0' },
    ...changes,
  });
  return dir;
}

describe('run names and notes', () => {
  it('stores them beside the run, merges changes, clears with an empty string, and lists them', async () => {
    const dir = await makeRun('a');
    expect(await readRunInfo(dir)).toEqual({});
    await updateRunInfo(dir, { name: '  lr 3e-4  ' });
    expect(await updateRunInfo(dir, { notes: 'first try\nwith flips' })).toEqual({ name: 'lr 3e-4', notes: 'first try\nwith flips' });
    expect((await listRuns(root)).runs[0].info).toEqual({ name: 'lr 3e-4', notes: 'first try\nwith flips' });
    expect(await updateRunInfo(dir, { name: '' })).toEqual({ notes: 'first try\nwith flips' });
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('names the file and field of a damaged info.json', async () => {
    const dir = await makeRun('a');
    await writeFile(join(dir, 'info.json'), '{"name":5}');
    await expect(readRunInfo(dir)).rejects.toThrow(/info\.json: "name" is wrong/);
  });

  it('validates the request: the run id, and text lengths', () => {
    expect(validateRequest('setRunInfo', { runId: 'a', name: 'x' })).toEqual({ runId: 'a', name: 'x', notes: undefined });
    expect(() => validateRequest('setRunInfo', { runId: '../a', name: 'x' })).toThrow(/request.runId/);
    expect(() => validateRequest('setRunInfo', { runId: 'a', name: 'x'.repeat(81) })).toThrow(/request.name must be text of at most 80/);
    expect(() => validateRequest('setRunInfo', { runId: 'a', notes: 'bell\u0007' })).toThrow(/request.notes/);
    expect(() => validateRequest('deleteRun', { runId: '.trash' })).toThrow(/request.runId/);
  });
});

describe('the trash', () => {
  it('moves a run out of the listing, lists it with its name, and restores it under its id', async () => {
    const dir = await makeRun('a');
    await updateRunInfo(dir, { name: 'baseline' });
    await makeRun('b');
    const entry = await trashRun(root, 'a', Date.parse('2026-02-01T00:00:00Z'));
    expect(entry).toEqual({ id: 'a', name: 'baseline', deletedAt: '2026-02-01T00:00:00.000Z', expires: '2026-03-03T00:00:00.000Z' });
    expect((await listRuns(root)).runs.map((r) => r.id)).toEqual(['b']);
    expect((await listRuns(root)).broken).toEqual([]);
    expect(await listTrash(root)).toEqual([entry]);
    await restoreRun(root, 'a');
    expect((await listRuns(root)).runs.map((r) => r.id).sort()).toEqual(['a', 'b']);
    expect(await readRunInfo(dir)).toEqual({ name: 'baseline' });
    expect(await listTrash(root)).toEqual([]);
    await expect(restoreRun(root, 'a')).rejects.toThrow(/no run a in the trash/);
  });

  it('refuses to delete a run a live process trains, with RUN_LOCKED and a sentence', async () => {
    const dir = await makeRun('a');
    children.push(await lockHeldElsewhere(dir));
    await expect(trashRun(root, 'a')).rejects.toMatchObject({ code: 'RUN_LOCKED', message: expect.stringMatching(/^Run a is training now, so it cannot be deleted; pause or cancel it first/) });
    expect((await listRuns(root)).runs.map((r) => r.id)).toEqual(['a']);
  });

  it('never restores over a run of the same id, and purges entries older than 30 days', async () => {
    await makeRun('a');
    const day = 24 * 3600 * 1000;
    const now = Date.parse('2026-05-01T00:00:00Z');
    await trashRun(root, 'a', now - (TRASH_DAYS + 1) * day);
    await makeRun('a');
    await expect(restoreRun(root, 'a')).rejects.toThrow(/A run a already exists/);
    await trashRun(root, 'a', now - day);
    expect((await listTrash(root)).map((e) => e.deletedAt)).toEqual([new Date(now - day).toISOString(), new Date(now - (TRASH_DAYS + 1) * day).toISOString()]);
    expect(await purgeTrash(root, now)).toEqual(['a']);
    expect((await listTrash(root)).map((e) => e.deletedAt)).toEqual([new Date(now - day).toISOString()]);
  });
});

describe('imported runs', () => {
  it('read as imported until they log a step, never as paused', async () => {
    const dir = await makeRun('imp', { imported: true, train: { steps: 1, nBits: 8, optimizer: { kind: 'adam', lr: 0.001, warmup: 0 } } as unknown as RunJson['train'] });
    await makeRun('plain');
    const status = async (id: string) => (await listRuns(root)).runs.find((r) => r.id === id)!.status.status;
    expect(await status('imp')).toBe('imported');
    expect(await status('plain')).toBe('paused');
    await appendMetric(dir, { type: 'train', step: 1, loss: 3 });
    expect(await status('imp')).toBe('finished');
  });

  it('refuse Resume with a sentence that says what to do', async () => {
    await makeRun('imp', { imported: true });
    const engine = new EngineService(root, () => undefined, new ModelCache(), [root]);
    await expect(engine.resumeTraining({ runId: 'imp' })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: 'Run imp is an imported model: it came without optimizer state, so it cannot be resumed. Use it in Samples and Explore, or start a new run with its settings.',
    });
  });
});

describe('decimated curves', () => {
  it('keeps each bucket’s extremes in order, the newest points exact, and short series whole', () => {
    const short = [1, 2, 3];
    expect(decimateMinMax(short, (v) => v, 10, 2)).toEqual(short);
    const n = 1_000_000;
    const points = Array.from({ length: n }, (_, i) => ({ step: i, v: Math.sin(i / 1000) }));
    points[123_457].v = 50; // a spike
    points[654_321].v = -50; // a dip
    const out = decimateMinMax(points, (p) => p.v, 3000, 200);
    expect(out.length).toBeLessThanOrEqual(3000);
    expect(out.length).toBeGreaterThan(2900);
    expect(out.some((p) => p.v === 50) && out.some((p) => p.v === -50)).toBe(true);
    expect(out.slice(-200)).toEqual(points.slice(-200));
    expect(out.every((p, i) => i === 0 || p.step > out[i - 1].step)).toBe(true);
  });

  it('getRun sends train and eval curves thinned, skip rows whole', async () => {
    const dir = await makeRun('long', { train: { steps: 20_000, nBits: 8, optimizer: { kind: 'adam', lr: 0.001, warmup: 0 } } as unknown as RunJson['train'] });
    const lines: string[] = [];
    for (let s = 1; s <= 20_000; s++) {
      lines.push(JSON.stringify({ type: 'train', step: s, time: s / 10, loss: 4 - s / 10_000 }));
      if (s % 100 === 0) lines.push(JSON.stringify({ type: 'eval', step: s, time: s / 10, valBpd: 4 - s / 10_000 }));
    }
    lines.push(JSON.stringify({ type: 'skip', step: 7, loss: 'NaN' }));
    await writeFile(join(dir, 'metrics.jsonl'), `${lines.join('\n')}\n`);
    const d = await new RunsService(root).getRun({ runId: 'long' });
    const train = d.metrics.filter((m) => m.type === 'train');
    expect(train.length).toBeLessThanOrEqual(3000);
    expect(train.at(-1)).toEqual({ type: 'train', step: 20_000, time: 2000, loss: 2 });
    expect(d.metrics.filter((m) => m.type === 'eval')).toHaveLength(200);
    expect(d.metrics.filter((m) => m.type === 'skip')).toEqual([{ type: 'skip', step: 7, time: 0 }]);
  });
});
