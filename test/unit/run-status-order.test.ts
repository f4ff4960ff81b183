// A run's status writes land in the order the worker makes them: the "training" written at its
// start can never land after its last word, which would make a finished run read as paused.
// The test holds the "training" write until the trainer has returned and any later write has
// landed, the worst order a slow disk could give.
import { realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { AppEvent, StartRequest } from '../../preload/api.ts';
import { summariseRun } from '../../main/engine/runs/run-list.ts';
import { ModelCache } from '../../main/worker/model-cache.ts';
import { EngineService } from '../../main/worker/service.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

const held = vi.hoisted(() => {
  let trainerReturned = () => {};
  return {
    trainerDone: new Promise<void>((resolve) => (trainerReturned = resolve)),
    trainerReturned: () => trainerReturned(),
    writes: [] as Promise<void>[],
  };
});

vi.mock('../../main/engine/train/trainer.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../main/engine/train/trainer.ts')>();
  return {
    ...real,
    train: async (...args: Parameters<typeof real.train>) => {
      const result = await real.train(...args);
      held.trainerReturned();
      return result;
    },
  };
});

vi.mock('../../main/engine/runs/run-status.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../main/engine/runs/run-status.ts')>();
  return {
    ...real,
    writeRunStatus: (...args: Parameters<typeof real.writeRunStatus>) => {
      const index = held.writes.length;
      const write = (async () => {
        if (args[1].status === 'training') {
          await held.trainerDone;
          await new Promise((resolve) => setImmediate(resolve)); // the worker has made any write it makes at the end
          await Promise.all(held.writes.slice(index + 1));
        }
        await real.writeRunStatus(...args);
      })();
      held.writes.push(write);
      return write;
    },
  };
});

let root: string;
let images: Awaited<ReturnType<typeof makeImageFolder>>;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowdesk-status-order-'));
  images = await makeImageFolder({ count: 16, size: 8, channels: 1 });
});
afterAll(async () => {
  await images?.cleanup();
  await rm(root, { recursive: true, force: true });
});

it('a run that finishes reads as finished, however late its "training" write lands', async () => {
  const events: AppEvent[] = [];
  const service = new EngineService(root, (e) => events.push(e), new ModelCache(), [realpathSync(tmpdir())]);
  const request = { folder: images.dir, model: { kind: 'glow', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8 }, train: { batch: 4, steps: 2, evalEvery: 100, checkpointEvery: 100 } };
  const { runId } = await service.startTraining(request as unknown as StartRequest);
  await vi.waitFor(() => expect(events.some((e) => e.type === 'train-stopped')).toBe(true), { timeout: 60_000, interval: 50 });
  await Promise.all(held.writes);
  expect(held.writes).toHaveLength(2);
  expect((await summariseRun(join(root, runId))).status).toEqual({ status: 'finished' });
});
