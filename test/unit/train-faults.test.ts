// Training when the disk fails under it: a full disk while saving a checkpoint, or a run folder
// that turns read-only, stops training with a message naming the folder, and the previous
// checkpoint stays whole: it loads and gives the bits per dim measured when it was taken.
// Failures are injected into node:fs/promises because tests run as root (chmod stops nothing).
import * as fsp from 'node:fs/promises';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { latestCheckpoint, readCheckpoint } from '../../main/engine/checkpoint/checkpoint-store.ts';
import { importImageFolder } from '../../main/engine/data/index.ts';
import { loadModel, parseModelJson } from '../../main/engine/models/model-io.ts';
import { mixSeed } from '../../main/engine/train/batches.ts';
import { meanBitsPerDim } from '../../main/engine/train/evaluate.ts';
import type { TrainEvent } from '../../main/engine/train/train-events.ts';
import { train } from '../../main/engine/train/trainer.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return { ...real, open: vi.fn(real.open) };
});
const real = await vi.importActual<typeof import('node:fs/promises')>('node:fs/promises');

/** Makes open() fail with `code` for paths matching `when`, once `armed()` says so. */
function failOpen(when: RegExp, code: string, armed: () => boolean): void {
  vi.mocked(fsp.open).mockImplementation(async (...args: Parameters<typeof real.open>) => {
    if (armed() && when.test(String(args[0]))) throw Object.assign(new Error(`${code}: simulated, open '${String(args[0])}'`), { code });
    return real.open(...args);
  });
}

let folder: Awaited<ReturnType<typeof makeImageFolder>>;
const runsDir = join(tmpdir(), `flowdesk-faults-${process.pid}`);
const model = { kind: 'glow', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8 } as const;
const settings = { batch: 4, steps: 8, evalEvery: 2, checkpointEvery: 2, valImages: 8, sampleCount: 4 };

beforeAll(async () => {
  folder = await makeImageFolder({ count: 24, size: 8, channels: 1 });
});
afterEach(() => {
  vi.mocked(fsp.open).mockImplementation(real.open);
});
afterAll(async () => {
  await folder.cleanup();
  await rm(runsDir, { recursive: true, force: true });
});

/** Trains until the injected failure stops it; returns the error and what was reported. */
async function trainUntilFailure(when: RegExp, code: string, fromStep: number) {
  const events: TrainEvent[] = [];
  let step = 0;
  failOpen(when, code, () => step >= fromStep);
  const err = await train({
    folder: folder.dir, model, train: settings, runsDir, cacheDir: null,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'step') step = e.step;
    },
  }).then(
    () => {
      throw new Error('expected training to stop on the injected failure');
    },
    (e: unknown) => e as Error & { code?: string },
  );
  vi.mocked(fsp.open).mockImplementation(real.open);
  const start = events.find((e) => e.type === 'start') as Extract<TrainEvent, { type: 'start' }>;
  return { err, events, runDir: start.runDir };
}

/** The newest checkpoint loads, and its bits per dim are those measured when it was taken. */
async function expectWholeCheckpoint(runDir: string, step: number, events: TrainEvent[]) {
  const latest = await latestCheckpoint(runDir);
  expect(latest?.step).toBe(step);
  const ckpt = await readCheckpoint(latest!.dir);
  // Evaluations use the averaged weights.
  const loaded = loadModel(parseModelJson(ckpt.model, latest!.dir), ckpt.ema!.tensors, latest!.dir);
  try {
    const { val } = await importImageFolder(folder.dir, { size: 8, channels: 1, cacheDir: null });
    const bpd = await meanBitsPerDim(loaded, val, { nBits: 8, limit: settings.valImages, seed: mixSeed(0, 7) });
    const measured = events.find((e) => e.type === 'eval' && e.step === step) as Extract<TrainEvent, { type: 'eval' }>;
    expect(Math.abs(bpd - measured.valBpd)).toBeLessThan(1e-5);
  } finally {
    loaded.dispose();
  }
}

describe('training when the disk fails', () => {
  it('stops on a full disk while saving a checkpoint, naming the folder; the previous checkpoint stays whole', async () => {
    const { err, events, runDir } = await trainUntilFailure(/checkpoints[\\/]\.step-6\.tmp-.*weights\.safetensors$/, 'ENOSPC', 6);
    expect(err.code).toBe('IO_ERROR');
    expect(err.message).toContain(`Could not save checkpoint ${join(runDir, 'checkpoints', 'step-6')}: disk full (ENOSPC)`);
    expect(events.some((e) => e.type === 'done')).toBe(false);
    await expectWholeCheckpoint(runDir, 4, events);
  });

  it('stops when the run folder turns read-only, naming the file; the previous checkpoint stays whole', async () => {
    const { err, events, runDir } = await trainUntilFailure(/flowdesk-faults-/, 'EROFS', 3);
    expect(err.code).toBe('IO_ERROR');
    expect(err.message).toBe(`Cannot append to ${join(runDir, 'metrics.jsonl')}: read-only file system (EROFS).`);
    await expectWholeCheckpoint(runDir, 2, events);
  });

  it('stops when a sample grid cannot be saved, naming it', async () => {
    const { err, runDir } = await trainUntilFailure(/samples[\\/]\.step-4\.png/, 'ENOSPC', 4);
    expect(err.code).toBe('IO_ERROR');
    expect(err.message).toMatch(new RegExp(`^Cannot save the sample grid ${join(runDir, 'samples', 'step-4.png').replace(/[.\\/]/g, '\\$&')}: disk full \\(ENOSPC\\)`));
  });
});
