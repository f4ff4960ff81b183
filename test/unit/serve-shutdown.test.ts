// The ends of a run in browser mode (issue 11, "also seen"): a real `flowdesk serve` process
// trains a tiny model; Ctrl-C (SIGINT to its whole process group, as a terminal sends it),
// SIGTERM or SIGHUP make the worker finish its step, write a checkpoint at the step reached and
// exit with the server; a server killed outright leaves an orphan that does the same by itself;
// a worker killed outright loses steps, and resuming says how many. And hostile frames on /events while it trains do not stop the run from reaching its last step.
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { latestCheckpoint } from '../../main/engine/checkpoint/checkpoint-store.ts';
import { readMetrics } from '../../main/engine/runs/metrics.ts';
import { isProcessAlive } from '../../main/engine/checkpoint/run-lock.ts';
import { makeImageFolder, type ImageFolder } from '../helpers/image-folder.ts';
import { callServe, spawnServe, type ServeProcess } from '../helpers/serve-process.ts';
import { attack, HOSTILE_FRAMES } from '../helpers/ws-attacks.ts';

const MODEL = { kind: 'nice', size: 8, channels: 1, depth: 2, hidden: 8 };
const TRAIN = { batch: 4, steps: 1_000_000, lr: 1e-3, warmup: 0, nBits: 5, seed: 0, evalEvery: 1_000_000, checkpointEvery: 1_000_000 };

let tmp: string;
let renderer: string;
let images: ImageFolder;
const started: ChildProcess[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'flowdesk-serve-ends-'));
  renderer = join(tmp, 'renderer');
  await mkdir(renderer);
  await writeFile(join(renderer, 'index.html'), '<!doctype html>');
  images = await makeImageFolder({ count: 16, size: 8, channels: 1 });
});
afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await images.cleanup();
  await rm(tmp, { recursive: true, force: true });
});

/** A server over a fresh runs folder, on wasm with its own cache; killed at the end if still running. */
async function startServe(): Promise<ServeProcess> {
  const s = await spawnServe(await mkdtemp(join(tmp, 'runs-')), renderer, { FLOWDESK_BACKEND: 'wasm', FLOWDESK_CACHE: join(tmp, 'cache') });
  started.push(s.child);
  return s;
}

async function startRun(s: ServeProcess, steps = TRAIN.steps): Promise<string> {
  const r = await callServe<{ runId: string }>(s, 'startTraining', { folder: images.dir, model: MODEL, train: { ...TRAIN, steps } });
  expect(r, JSON.stringify(r)).toMatchObject({ ok: true });
  return join(s.runs, r.value!.runId);
}

const trainRows = async (runDir: string) => (await readMetrics(runDir)).rows.filter((r) => r.type === 'train');

/** The worker training `runDir`: the pid in the run's lock, once a few steps are logged. */
async function trainingWorker(runDir: string): Promise<number> {
  await expect.poll(async () => (await trainRows(runDir)).length, { timeout: 120_000, interval: 200 }).toBeGreaterThanOrEqual(3);
  return (JSON.parse(await readFile(join(runDir, '.lock'), 'utf8')) as { pid: number }).pid;
}

/** The run's last checkpoint is at the last step it logged: nothing trained was lost. */
async function expectCheckpointAtLastStep(runDir: string): Promise<void> {
  const rows = await trainRows(runDir);
  const last = rows.at(-1)!.step as number;
  expect(last).toBeGreaterThanOrEqual(3);
  expect((await latestCheckpoint(runDir))?.step).toBe(last);
  expect(JSON.parse(await readFile(join(runDir, 'status.json'), 'utf8'))).toEqual({ status: 'paused' });
}

describe('flowdesk serve: the ends of a run', () => {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`on ${signal} to the server's process group, checkpoints at the step reached and leaves no process`, async () => {
      const s = await startServe();
      const runDir = await startRun(s);
      const worker = await trainingWorker(runDir);
      process.kill(-s.child.pid!, signal);
      await s.exited;
      expect(s.child.exitCode).toBe(0);
      await expect.poll(() => isProcessAlive(worker), { timeout: 10_000 }).toBe(false);
      await expectCheckpointAtLastStep(runDir);
    });
  }

  it('when the server is killed outright, the orphaned worker checkpoints and exits within seconds', async () => {
    const s = await startServe();
    const runDir = await startRun(s);
    const worker = await trainingWorker(runDir);
    s.child.kill('SIGKILL');
    await s.exited;
    await expect.poll(() => isProcessAlive(worker), { timeout: 15_000, interval: 100 }).toBe(false);
    await expectCheckpointAtLastStep(runDir);
  });

  it('when the worker itself is killed, the next start says how many steps were lost', async () => {
    const s = await startServe();
    const events: { type: string; runId?: string; message?: string }[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/events?token=${s.token}`);
    ws.on('message', (m) => events.push(JSON.parse(String(m))));
    await new Promise((resolve) => ws.once('open', resolve));
    const runDir = await startRun(s);
    const runId = runDir.slice(s.runs.length + 1);
    process.kill(await trainingWorker(runDir), 'SIGKILL');
    await expect.poll(() => events.some((e) => e.type === 'worker-crashed'), { timeout: 10_000 }).toBe(true);
    const checkpoint = (await latestCheckpoint(runDir))!.step;
    const lost = ((await trainRows(runDir)).at(-1)!.step as number) - checkpoint;
    expect(lost).toBeGreaterThan(0);
    expect(await callServe(s, 'resumeTraining', { runId, steps: checkpoint + lost + 5 })).toMatchObject({ ok: true });
    await expect.poll(() => events.find((e) => e.type === 'train-warning'), { timeout: 60_000 }).toEqual({
      type: 'train-warning',
      runId,
      message: `Resumed from step ${checkpoint}; ${lost} step${lost === 1 ? '' : 's'} since the last checkpoint ${lost === 1 ? 'was' : 'were'} lost.`,
    });
    ws.close();
    s.child.kill('SIGTERM');
    await s.exited;
  });

  it('trains to its last step while hostile frames hit /events', async () => {
    const s = await startServe();
    const good = new WebSocket(`ws://127.0.0.1:${s.port}/events?token=${s.token}`);
    const events: { type: string; step?: number; status?: string }[] = [];
    good.on('message', (m) => events.push(JSON.parse(String(m))));
    await new Promise((resolve) => good.once('open', resolve));
    const runDir = await startRun(s);
    const runId = runDir.slice(s.runs.length + 1);
    await trainingWorker(runDir);
    for (const [label, bytes] of HOSTILE_FRAMES) await attack(s, bytes()).catch((err: Error) => expect.fail(`${label}: ${err.message}`));
    // Every attack landed while the run trained; it then pauses and finishes a short extension.
    expect(events.filter((e) => e.type === 'train-stopped')).toEqual([]);
    expect(await callServe(s, 'pauseTraining', null)).toMatchObject({ ok: true });
    const last = (await latestCheckpoint(runDir))!.step + 10;
    expect(await callServe(s, 'resumeTraining', { runId, steps: last })).toMatchObject({ ok: true });
    await expect.poll(() => events.filter((e) => e.type === 'train-stopped').at(-1), { timeout: 120_000, interval: 200 }).toMatchObject({ status: 'finished', step: last });
    expect((await trainRows(runDir)).at(-1)?.step).toBe(last);
    expect((await latestCheckpoint(runDir))?.step).toBe(last);
    expect(events.some((e) => e.type === 'train-step')).toBe(true);
    good.close();
    s.child.kill('SIGTERM');
    await s.exited;
  });
});
