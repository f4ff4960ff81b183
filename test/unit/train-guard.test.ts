// The non-finite guard: a step whose loss or gradients are NaN/Inf is skipped and reported
// (the weights stay untouched); too many in a row roll the run back to its last checkpoint with
// half the learning rate, and when that keeps failing training stops with a clear error.
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TrainEvent } from '../../main/engine/train/train-events.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

/** Steps (1-based calls) whose batch the fake fills with NaN. */
const poisoned = vi.hoisted(() => ({ calls: new Set<number>(), count: 0 }));
// Poison the step source's data, whichever backend computes the step (onnxruntime, with its
// update inside the graph, or tfjs): the guard must catch the NaN loss the real step computes.
vi.mock('../../main/engine/train/step-source.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../main/engine/train/step-source.ts')>();
  return {
    ...real,
    stepSource: async (...args: Parameters<typeof real.stepSource>) => {
      const source = await real.stepSource(...args);
      return {
        threads: source.threads,
        update: (data: Float32Array) => {
          poisoned.count += 1;
          return source.update(poisoned.calls.has(poisoned.count) ? new Float32Array(data.length).fill(Number.NaN) : data);
        },
        dispose: () => source.dispose(),
      };
    },
  };
});

const { train } = await import('../../main/engine/train/trainer.ts');

let folder: Awaited<ReturnType<typeof makeImageFolder>>;
const runsDir = join(tmpdir(), `flowdesk-guard-${process.pid}`);
const model = { kind: 'glow', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8 } as const;

beforeAll(async () => {
  folder = await makeImageFolder({ count: 20, size: 8, channels: 1 });
});
afterAll(async () => {
  await folder.cleanup();
  await rm(runsDir, { recursive: true, force: true });
});

describe('non-finite steps', () => {
  it('skips a NaN step, says so, and keeps training', async () => {
    poisoned.count = 0;
    poisoned.calls = new Set([3]);
    const events: TrainEvent[] = [];
    const result = await train({ folder: folder.dir, model, train: { batch: 4, steps: 6, evalEvery: 100 }, runsDir, cacheDir: null, onEvent: (e) => events.push(e) });
    expect(result.step).toBe(6);
    const warnings = events.filter((e) => e.type === 'warning');
    expect(warnings).toHaveLength(1);
    expect((warnings[0] as { message: string }).message).toMatch(/step 3 skipped: loss NaN/);
    const rows = (await readFile(join(result.runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.filter((r) => r.type === 'skip').map((r) => r.step)).toEqual([3]);
    expect(rows.filter((r) => r.type === 'train').map((r) => r.step)).toEqual([1, 2, 4, 5, 6]);
  });

  it('rolls back to the last checkpoint with half the learning rate after too many in a row, and says so', async () => {
    poisoned.count = 0;
    poisoned.calls = new Set([6, 7, 8]); // steps 6-8; the checkpoint before them is step 4
    const events: TrainEvent[] = [];
    const result = await train({
      folder: folder.dir, model, train: { batch: 4, steps: 8, maxNonFinite: 3, checkpointEvery: 2, evalEvery: 100, lr: 1e-3, warmup: 0 }, runsDir, cacheDir: null, onEvent: (e) => events.push(e),
    });
    expect(result.step).toBe(8);
    const messages = events.filter((e) => e.type === 'warning').map((e) => (e as { message: string }).message);
    expect(messages.at(-1)).toBe('3 steps in a row up to step 8 had a non-finite loss or gradient: rolled back to the checkpoint at step 4 and halved the learning rate to 0.0005.');
    const lrs = events.filter((e) => e.type === 'step').map((e) => [(e as { step: number }).step, (e as { lr: number }).lr]);
    expect(lrs).toEqual([[1, 1e-3], [2, 1e-3], [3, 1e-3], [4, 1e-3], [5, 1e-3], [5, 5e-4], [6, 5e-4], [7, 5e-4], [8, 5e-4]]);
    const rows = (await readFile(join(result.runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    // The steps after the checkpoint are replaced by the replay; the rollback itself is recorded.
    expect(rows.filter((r) => r.type === 'train').map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(rows.filter((r) => r.type === 'rollback')).toEqual([{ type: 'rollback', step: 4, failedAt: 8, badSteps: 3, lrScale: 0.5 }]);
    expect(rows.some((r) => r.type === 'skip')).toBe(false);
  });

  it('stops with a clear error when non-finite steps keep coming after its rollbacks', async () => {
    poisoned.count = 0;
    poisoned.calls = new Set(Array.from({ length: 30 }, (_, i) => i + 2));
    const err = await train({ folder: folder.dir, model, train: { batch: 4, steps: 20, maxNonFinite: 4, maxRollbacks: 2, evalEvery: 100 }, runsDir, cacheDir: null }).catch((e) => e);
    expect(err.code).toBe('NON_FINITE');
    expect(err.message).toMatch(/^Training stopped at step 4: 4 steps in a row had a non-finite loss or gradient, even after 2 rollback\(s\) to the last checkpoint/);
    expect(err.message).toMatch(/Lower the learning rate \(set to 0.001\) or the clip norm/);
  });
});
