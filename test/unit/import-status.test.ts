// Issue 14, point 6: importing a model (the Api's importModel, `flowdesk import`) adds a run
// that reads as imported and changes no other run's status, whether that run finished, was
// paused or trains in the worker at that moment.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Result, RunSummary } from '../../preload/api.ts';
import { BIN, cliEnv } from '../helpers/cli-env.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';
import { startTestWorker, type TestWorker } from '../helpers/test-worker.ts';

const MODEL = { kind: 'glow', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8 };
const TRAIN = { batch: 4, evalEvery: 2, checkpointEvery: 2, warmup: 1 };

let root: string;
let runsDir: string;
let images: Awaited<ReturnType<typeof makeImageFolder>>;
let worker: TestWorker | undefined;
let call: <T>(method: string, arg?: unknown) => Promise<Result<T>>;

async function value<T>(p: Promise<Result<T>>): Promise<T> {
  const r = await p;
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}
async function statuses(): Promise<Record<string, string>> {
  const runs = await value(call<RunSummary[]>('listRuns'));
  return Object.fromEntries(runs.map((r) => [r.id, r.status]));
}
async function statusOf(id: string): Promise<string | undefined> {
  return (await statuses())[id];
}
async function train(steps: number): Promise<string> {
  return (await value(call<{ runId: string }>('startTraining', { folder: images.dir, model: MODEL, train: { ...TRAIN, steps } }))).runId;
}
function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(root) });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowdesk-import-status-'));
  runsDir = join(root, 'runs');
  images = await makeImageFolder({ count: 24, size: 8, channels: 1 });
  worker = startTestWorker(root, runsDir);
  call = worker.call as typeof call;
}, 60_000);
afterAll(async () => {
  worker?.stop();
  await images?.cleanup();
  await rm(root, { recursive: true, force: true });
});

describe('importing a model', () => {
  it('leaves a finished, a paused and a training run as they were', async () => {
    const finished = await train(4);
    await expect.poll(() => statusOf(finished), { timeout: 60_000, interval: 200 }).toBe('finished');
    const paused = await train(100_000);
    await expect.poll(async () => (await value(call<RunSummary[]>('listRuns'))).find((r) => r.id === paused)?.checkpointStep ?? null, { timeout: 60_000, interval: 200 }).not.toBeNull();
    await value(call('pauseTraining'));
    const training = await train(100_000);
    await expect.poll(async () => (await value(call<RunSummary[]>('listRuns'))).find((r) => r.id === training)?.step ?? 0, { timeout: 60_000, interval: 200 }).toBeGreaterThan(0);
    const before = await statuses();
    expect(before).toEqual({ [finished]: 'finished', [paused]: 'paused', [training]: 'training' });

    const exported = join(root, 'exported');
    await value(call('exportModel', { runId: finished, folder: exported }));
    const viaApi = (await value(call<{ runId: string }>('importModel', { folder: exported }))).runId;
    const viaCli = await cli(['import', exported, '--runs', runsDir, '--name', 'from-cli']);
    expect(viaCli.code, viaCli.out).toBe(0);

    expect(await statuses()).toEqual({ ...before, [viaApi]: 'imported', 'from-cli': 'imported'});
    await value(call('pauseTraining'));
    expect(await statuses()).toEqual({ ...before, [training]: 'paused', [viaApi]: 'imported', 'from-cli': 'imported'});
  }, 240_000);
});
