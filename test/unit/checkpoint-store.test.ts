// Checkpoints and run folders under faults: a killed writer leaves nothing that looks whole,
// a full or read-only disk keeps the previous checkpoint, torn metrics lines are repaired, and
// a second writer is locked out.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  latestCheckpoint,
  listCheckpoints,
  readCheckpoint,
  removeStaleTemporaries,
  resolveCheckpointDir,
  writeCheckpoint,
  type CheckpointData,
} from '../../main/engine/checkpoint/checkpoint-store.ts';
import { acquireRunLock } from '../../main/engine/checkpoint/run-lock.ts';
import { appendMetric, createRunDir, readMetrics, truncateMetricsAfter } from '../../main/engine/checkpoint/run-folder.ts';

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return { ...real, open: vi.fn(real.open) };
});

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowdesk-ckpt-'));
});
afterEach(async () => {
  vi.mocked(fsp.open).mockReset();
  await rm(root, { recursive: true, force: true });
});

function data(step: number): CheckpointData {
  return {
    step,
    model: { format: 'test', step },
    weights: { w: { dtype: 'float32', shape: [2], data: Float32Array.from([step, -step]) } },
    optimizer: { 'm/w': { dtype: 'float32', shape: [2], data: Float32Array.from([0.5, 0.25]) } },
    optimizerMeta: { kind: 'adam', step: String(step) },
    state: { elapsed: step * 2 },
  };
}

describe('checkpoints', () => {
  it('writes, lists, reads back and prunes to the newest `keep`', async () => {
    const run = await createRunDir(root, 'r');
    for (const step of [10, 20, 30, 40]) await writeCheckpoint(run, data(step), { keep: 3 });
    expect((await listCheckpoints(run)).map((c) => c.step)).toEqual([20, 30, 40]);
    const back = await readCheckpoint(join(run, 'checkpoints', 'step-40'));
    expect(back.step).toBe(40);
    expect(Array.from(back.weights.w.data)).toEqual([40, -40]);
    expect(back.optimizerMeta).toEqual({ kind: 'adam', step: '40' });
    expect(await resolveCheckpointDir(run)).toBe(join(run, 'checkpoints', 'step-40'));
  });

  it('ignores what a killed writer left and cleans it up', async () => {
    const run = await createRunDir(root, 'r');
    await writeCheckpoint(run, data(10));
    const torn = join(run, 'checkpoints', '.step-20.tmp-999-1');
    await mkdir(torn);
    await writeFile(join(torn, 'weights.safetensors'), 'half');
    expect((await latestCheckpoint(run))!.step).toBe(10);
    expect(await removeStaleTemporaries(run)).toBe(1);
    expect(await readdir(join(run, 'checkpoints'))).toEqual(['step-10']);
  });

  it('falls back to the previous checkpoint when the newest is damaged, and says so', async () => {
    const run = await createRunDir(root, 'r');
    await writeCheckpoint(run, data(10));
    await writeCheckpoint(run, data(20));
    await writeFile(join(run, 'checkpoints', 'step-20', 'weights.safetensors'), 'broken');
    const warnings: string[] = [];
    expect((await latestCheckpoint(run, (w) => warnings.push(w)))!.step).toBe(10);
    expect(warnings[0]).toMatch(/step-20.*unreadable/);
  });

  for (const [code, words] of [['ENOSPC', 'disk is full'], ['EROFS', 'read-only'], ['EACCES', 'permission denied']] as const) {
    it(`keeps the previous checkpoint whole when saving fails with ${code}`, async () => {
      const run = await createRunDir(root, 'r');
      await writeCheckpoint(run, data(10));
      const real = (await vi.importActual<typeof import('node:fs/promises')>('node:fs/promises')).open;
      vi.mocked(fsp.open).mockImplementation(async (path, flags, mode) => {
        if (String(path).endsWith('optimizer.safetensors')) throw Object.assign(new Error(`${code}: simulated`), { code });
        return real(path, flags, mode);
      });
      const err = await writeCheckpoint(run, data(20)).catch((e) => e);
      expect(err.code).toBe('IO_ERROR');
      expect(err.message).toContain(words);
      expect(err.message).toContain(join(run, 'checkpoints'));
      vi.mocked(fsp.open).mockImplementation(real);
      expect(await readdir(join(run, 'checkpoints'))).toEqual(['step-10']);
      expect((await readCheckpoint(join(run, 'checkpoints', 'step-10'))).step).toBe(10);
    });
  }

  it('refuses a folder that holds no model, naming it', async () => {
    const run = await createRunDir(root, 'empty');
    await expect(resolveCheckpointDir(run)).rejects.toMatchObject({ code: 'NO_CHECKPOINT', message: expect.stringContaining(run) });
    await expect(resolveCheckpointDir(join(root, 'nope'))).rejects.toMatchObject({ code: 'NO_CHECKPOINT' });
  });
});

describe('run folders', () => {
  it('never reuses a run folder', async () => {
    await createRunDir(root, 'same');
    await expect(createRunDir(root, 'same')).rejects.toThrow(/already exists/);
    await expect(createRunDir(root, '../escape')).rejects.toThrow(/must be/);
  });

  it('repairs a torn last metrics line and drops rows after a resume point', async () => {
    const run = await createRunDir(root, 'r');
    for (let step = 1; step <= 5; step++) await appendMetric(run, { type: 'train', step, loss: 1 / step });
    await fsp.appendFile(join(run, 'metrics.jsonl'), '{"type":"train","st');
    const { rows, repaired } = await readMetrics(run);
    expect(rows).toHaveLength(5);
    expect(repaired).toBe(19);
    expect((await readFile(join(run, 'metrics.jsonl'), 'utf8')).endsWith('}\n')).toBe(true);
    await truncateMetricsAfter(run, 3);
    expect((await readMetrics(run)).rows.map((r) => r.step)).toEqual([1, 2, 3]);
  });
});

describe('run lock', () => {
  it('refuses a second writer while the first lives, and takes over a dead one’s lock', async () => {
    const run = await createRunDir(root, 'r');
    const lock = await acquireRunLock(run);
    await expect(acquireRunLock(run)).rejects.toMatchObject({ code: 'RUN_LOCKED' });
    await lock.release();
    // A lock left by a process that has since died is stale.
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => child.on('exit', r));
    await writeFile(join(run, '.lock'), JSON.stringify({ pid: child.pid, host: (await import('node:os')).hostname(), since: 'then' }));
    const again = await acquireRunLock(run);
    await again.release();
    // A live process elsewhere on this host holds it: refused with its pid.
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
    await writeFile(join(run, '.lock'), JSON.stringify({ pid: sleeper.pid, host: (await import('node:os')).hostname(), since: 'now' }));
    await expect(acquireRunLock(run)).rejects.toThrow(new RegExp(`process ${sleeper.pid}`));
    sleeper.kill();
  });
});
