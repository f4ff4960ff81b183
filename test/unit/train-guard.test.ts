// The non-finite guard: a step whose loss or gradients are NaN/Inf is skipped and reported
// (the weights stay untouched), and too many in a row stop training with a clear error.
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TrainEvent } from '../../main/engine/train/train-events.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

/** Steps (1-based calls) whose loss the fake reports as NaN. */
const poisoned = vi.hoisted(() => ({ calls: new Set<number>(), count: 0 }));
vi.mock('../../main/engine/train/gradients.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../main/engine/train/gradients.ts')>();
  return {
    ...real,
    batchGradients: (...args: Parameters<typeof real.batchGradients>) => {
      const out = real.batchGradients(...args);
      poisoned.count += 1;
      return poisoned.calls.has(poisoned.count) ? { ...out, loss: Number.NaN } : out;
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

  it('stops with a clear error after too many in a row', async () => {
    poisoned.count = 0;
    poisoned.calls = new Set([2, 3, 4, 5, 6]);
    const err = await train({ folder: folder.dir, model, train: { batch: 4, steps: 20, maxNonFinite: 4, evalEvery: 100 }, runsDir, cacheDir: null }).catch((e) => e);
    expect(err.code).toBe('NON_FINITE');
    expect(err.message).toMatch(/Training stopped at step 5: 4 steps in a row had a non-finite loss or gradient. Lower the learning rate/);
  });
});
