// A client that reads a run's last status and starts the next run at once is not refused: the
// worker takes a new run as soon as the last one's trainer has returned (its lock released), before
// it writes that status. The test starts the next run the moment the "finished" write has landed.
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

const hook = vi.hoisted(() => ({ afterLastWord: null as (() => void) | null }));

vi.mock('../../main/engine/runs/run-status.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../main/engine/runs/run-status.ts')>();
  return {
    ...real,
    writeRunStatus: async (...args: Parameters<typeof real.writeRunStatus>) => {
      await real.writeRunStatus(...args);
      if (args[1].status !== 'training') hook.afterLastWord?.();
    },
  };
});

let root: string;
let images: Awaited<ReturnType<typeof makeImageFolder>>;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowdesk-next-start-'));
  images = await makeImageFolder({ count: 16, size: 8, channels: 1 });
});
afterAll(async () => {
  await images?.cleanup();
  await rm(root, { recursive: true, force: true });
});

it('starts the next run the moment the last one reads as finished', async () => {
  const events: AppEvent[] = [];
  const service = new EngineService(root, (e) => events.push(e), new ModelCache(), [realpathSync(tmpdir())]);
  const request = { folder: images.dir, model: { kind: 'glow', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8 }, train: { batch: 4, steps: 2, evalEvery: 100, checkpointEvery: 100 } } as unknown as StartRequest;
  // Settled to its answer or its refusal, which the test then reads.
  let next: Promise<{ runId: string } | Error> | null = null;
  hook.afterLastWord = () => {
    hook.afterLastWord = null;
    next = service.startTraining(request).catch((err: Error) => err);
  };
  const first = await service.startTraining(request);
  await vi.waitFor(() => expect(next).not.toBeNull(), { timeout: 60_000, interval: 20 });
  const second = await next!;
  if (second instanceof Error) throw new Error(`the next run was refused: ${second.message}`);
  await vi.waitFor(() => expect(events.filter((e) => e.type === 'train-stopped')).toHaveLength(2), { timeout: 60_000, interval: 50 });
  expect(second.runId).not.toBe(first.runId);
  for (const { runId } of [first, second]) expect((await summariseRun(join(root, runId))).status).toEqual({ status: 'finished' });
});
