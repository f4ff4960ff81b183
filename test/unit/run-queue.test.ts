// The run queue: entries keep their order through moves and removals (made one after another
// or at once), survive a restart (a new worker on the same runs folder), wait while another
// process trains on that folder, and an entry that fails is reported while the next one starts.
import { type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppEvent, StartRequest } from '../../preload/api.ts';
import { appendToQueue, moveInQueue, queuePath, readQueue, removeFromQueue, takeNextFromQueue } from '../../main/engine/runs/run-queue.ts';
import { ModelCache } from '../../main/worker/model-cache.ts';
import { RunsService } from '../../main/worker/runs-service.ts';
import { EngineService } from '../../main/worker/service.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';
import { lockHeldElsewhere } from '../helpers/foreign-lock.ts';

let images: Awaited<ReturnType<typeof makeImageFolder>>;
const dirs: string[] = [];
const roots = [realpathSync(tmpdir())];

async function runsFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flowdesk-queue-'));
  dirs.push(dir);
  return dir;
}

/** A run of two steps on 8x8 gray images, learning rate `lr` so entries tell apart. */
function tiny(lr: number, folder: string | null = images.dir): StartRequest {
  return { folder, model: { kind: 'glow', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8 }, train: { batch: 4, steps: 2, evalEvery: 100, checkpointEvery: 100, lr } } as unknown as StartRequest;
}

async function until(what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  images = await makeImageFolder({ count: 24, size: 8, channels: 1 });
});

afterAll(async () => {
  await images.cleanup();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('queue file', () => {
  it('keeps entries in order through moves, removals and takes', async () => {
    const dir = await runsFolder();
    for (const lr of [1e-3, 2e-3, 3e-3]) await appendToQueue(dir, tiny(lr));
    const lrs = async () => (await readQueue(dir)).map((e) => e.train.lr);
    expect(await lrs()).toEqual([1e-3, 2e-3, 3e-3]);
    const [a, , c] = await readQueue(dir);
    await moveInQueue(dir, c.id, 0);
    expect(await lrs()).toEqual([3e-3, 1e-3, 2e-3]);
    await moveInQueue(dir, c.id, 99);
    expect(await lrs()).toEqual([1e-3, 2e-3, 3e-3]);
    await removeFromQueue(dir, a.id);
    expect(await lrs()).toEqual([2e-3, 3e-3]);
    expect((await takeNextFromQueue(dir))?.train.lr).toBe(2e-3);
    expect(await lrs()).toEqual([3e-3]);
    await expect(removeFromQueue(dir, a.id)).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining(a.id) });
  });

  it('keeps every entry of adds, moves and takes made at once', async () => {
    const dir = await runsFolder();
    const lrs = [1e-3, 2e-3, 3e-3, 4e-3, 5e-3];
    // Started together, as a person clicking Queue in quick succession sends them.
    await Promise.all(lrs.map((lr) => appendToQueue(dir, tiny(lr))));
    expect((await readQueue(dir)).map((e) => e.train.lr)).toEqual(lrs);
    const [a, b] = await readQueue(dir);
    const [first] = await Promise.all([takeNextFromQueue(dir), moveInQueue(dir, b.id, 99), appendToQueue(dir, tiny(6e-3))]);
    expect(first?.id).toBe(a.id);
    expect((await readQueue(dir)).map((e) => e.train.lr)).toEqual([3e-3, 4e-3, 5e-3, 2e-3, 6e-3]);
  });

  it('names the file and field when the queue file is damaged', async () => {
    const dir = await runsFolder();
    await writeFile(queuePath(dir), JSON.stringify({ format: 'flowdesk.queue', version: 1, entries: [{ id: 'x' }] }));
    await expect(readQueue(dir)).rejects.toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringMatching(/queue\.json.*entries\.0/) });
  });
});

describe('queue in the worker', () => {
  let holder: ChildProcess | null = null;
  const services: EngineService[] = [];
  afterEach(async () => {
    holder?.kill();
    holder = null;
    for (const s of services.splice(0)) await s.pauseForShutdown();
  });

  function service(dir: string, events: AppEvent[]): EngineService {
    const s = new EngineService(dir, (e) => events.push(e), new ModelCache(), roots, undefined, 100);
    services.push(s);
    return s;
  }

  /** A live process holding the lock of run `name` in `dir`, as a trainer elsewhere does. */
  async function foreignLock(dir: string, name: string): Promise<void> {
    holder = await lockHeldElsewhere(join(dir, name));
  }

  it('waits while another process trains on the runs folder, survives a restart, then runs entries in order', async () => {
    const dir = await runsFolder();
    await foreignLock(dir, 'elsewhere');
    const first: AppEvent[] = [];
    const before = service(dir, first);
    await before.addToQueue(tiny(1e-3));
    await before.addToQueue(tiny(2e-3));
    await before.startQueue();
    const waiting = await before.listQueue();
    expect(waiting.waiting).toMatch(/Run elsewhere is training in another process/);
    expect(waiting.entries).toHaveLength(2);
    expect(first.some((e) => e.type === 'train-start')).toBe(false);
    await before.pauseForShutdown();

    // A restart: a new worker on the same runs folder finds the queue, still waiting.
    const events: AppEvent[] = [];
    const after = service(dir, events);
    expect((await after.listQueue()).entries.map((e) => e.train.lr)).toEqual([1e-3, 2e-3]);
    await after.startQueue();
    expect(events.some((e) => e.type === 'train-start')).toBe(false);
    holder!.kill();
    await until('both queued runs to finish', () => events.filter((e) => e.type === 'train-stopped').length === 2);
    const stopped = events.filter((e) => e.type === 'train-stopped');
    expect(stopped.map((e) => e.type === 'train-stopped' && e.status)).toEqual(['finished', 'finished']);
    const runs = await new RunsService(dir).listRuns();
    const lrOf = (id: string) => runs.find((r) => r.id === id)?.train.lr;
    expect(stopped.map((e) => e.type === 'train-stopped' && lrOf(e.runId))).toEqual([1e-3, 2e-3]);
    expect((await after.listQueue()).entries).toEqual([]);
  }, 180_000);

  it('reports an entry that cannot start and starts the next', async () => {
    const dir = await runsFolder();
    const events: AppEvent[] = [];
    const s = service(dir, events);
    await foreignLock(dir, 'elsewhere'); // holds the queue while it is filled
    await s.addToQueue(tiny(1e-3, join(images.dir, 'no-such-folder')));
    await s.addToQueue(tiny(2e-3));
    holder!.kill();
    await until('the second entry to finish', () => events.some((e) => e.type === 'train-stopped'));
    const state = await s.listQueue();
    expect(state.entries).toEqual([]);
    const queueEvents = events.filter((e): e is Extract<AppEvent, { type: 'queue' }> => e.type === 'queue');
    const failure = queueEvents.map((e) => e.queue.failed).find((f) => f !== null);
    expect(failure?.entry?.folder).toBe(join(images.dir, 'no-such-folder'));
    expect(failure?.error.message).toMatch(/no-such-folder/);
    const stopped = events.find((e) => e.type === 'train-stopped');
    expect(stopped).toMatchObject({ status: 'finished' });
  }, 180_000);
});
