// Checkpoint folders under faults: whole or absent after a killed writer, the previous one kept
// when the disk is full, read-only or forbidden (failures injected into node:fs/promises, since
// tests run as root), damaged ones refused naming the file, and RUN_OR_CHECKPOINT arguments.
import { spawnSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  latestCheckpoint,
  listCheckpoints,
  readCheckpoint,
  removeStaleTemporaries,
  writeBestWeights,
  writeCheckpoint,
  type CheckpointData,
} from '../../main/engine/checkpoint/checkpoint-store.ts';
import { resolveModelDir } from '../../main/engine/runs/model-folder.ts';
import { decodeSafetensors, encodeSafetensors } from '../../main/engine/checkpoint/safetensors.ts';
import { CheckpointError } from '../../main/engine/errors.ts';

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return { ...real, open: vi.fn(real.open), mkdir: vi.fn(real.mkdir), rename: vi.fn(real.rename) };
});

const real = await vi.importActual<typeof import('node:fs/promises')>('node:fs/promises');

let root: string;
let run: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowdesk-ckpt-'));
  run = join(root, 'run');
  await mkdir(run);
});
afterEach(async () => {
  vi.mocked(fsp.open).mockImplementation(real.open);
  vi.mocked(fsp.mkdir).mockImplementation(real.mkdir);
  vi.mocked(fsp.rename).mockImplementation(real.rename);
  await rm(root, { recursive: true, force: true });
});

function data(step: number): CheckpointData {
  return {
    step,
    model: { format: 'test', config: { kind: 'glow', levels: 2 } },
    weights: {
      'levels.0.steps.0.actnorm.bias': { dtype: 'float32', shape: [2], data: Float32Array.from([step, -step]) },
      'levels.0.steps.0.invconv.row_order': { dtype: 'int32', shape: [2], data: Int32Array.from([1, 0]) },
    },
    optimizer: { 'm/w': { dtype: 'float32', shape: [2], data: Float32Array.from([0.5, 0.25]) } },
    optimizerMeta: { kind: 'adam', step: String(step) },
    state: { elapsed: step * 2, rng: { hi: 123, lo: -456 } },
  };
}

/** A pid that belonged to a process that has exited (a killed writer). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

async function expectCode(promise: Promise<unknown>, code: string, ...fragments: string[]): Promise<CheckpointError> {
  const err = await promise.then(
    () => {
      throw new Error('expected a CheckpointError, got success');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CheckpointError);
  expect((err as CheckpointError).code).toBe(code);
  for (const f of fragments) expect((err as Error).message).toContain(f);
  return err as CheckpointError;
}

/** Makes the named fs/promises function fail with `code` for paths matching `when`. */
function failOn(fn: 'open' | 'mkdir' | 'rename', when: RegExp, code: string): void {
  const original = real[fn] as (...args: unknown[]) => Promise<unknown>;
  vi.mocked(fsp[fn] as (...args: unknown[]) => Promise<unknown>).mockImplementation(async (...args: unknown[]) => {
    if (when.test(String(args[0]))) throw Object.assign(new Error(`${code}: simulated, ${fn} '${String(args[0])}'`), { code });
    return original(...args);
  });
}

describe('writing and reading checkpoints', () => {
  it('round-trips every part of a checkpoint, in a folder holding exactly its four files', async () => {
    const dir = await writeCheckpoint(run, data(40));
    expect(dir).toBe(join(run, 'checkpoints', 'step-40'));
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'optimizer.safetensors', 'state.json', 'weights.safetensors']);
    expect(await readdir(join(run, 'checkpoints'))).toEqual(['step-40']);
    const back = await readCheckpoint(dir);
    expect(back.step).toBe(40);
    expect(back.model).toEqual(data(40).model);
    expect(back.state).toEqual({ elapsed: 80, rng: { hi: 123, lo: -456 }, step: 40 });
    expect(back.optimizerMeta).toEqual({ kind: 'adam', step: '40' });
    expect(Array.from(back.weights['levels.0.steps.0.actnorm.bias'].data)).toEqual([40, -40]);
    expect(back.weights['levels.0.steps.0.invconv.row_order'].dtype).toBe('int32');
    expect(Array.from(back.optimizer['m/w'].data)).toEqual([0.5, 0.25]);
  });

  it('keeps the newest `keep` checkpoints (3 by default), and always the one just written', async () => {
    for (const step of [10, 20, 30, 40]) await writeCheckpoint(run, data(step));
    expect((await listCheckpoints(run)).map((c) => c.step)).toEqual([20, 30, 40]);
    await writeCheckpoint(run, data(50), { keep: 2 });
    expect((await listCheckpoints(run)).map((c) => c.step)).toEqual([40, 50]);
    // Resumed from an older step: the new checkpoint is the run's present and survives pruning.
    await writeCheckpoint(run, data(45), { keep: 2 });
    expect((await listCheckpoints(run)).map((c) => c.step)).toEqual([45, 50]);
  });

  it('replaces a checkpoint of the same step whole', async () => {
    await writeCheckpoint(run, data(10));
    const again = { ...data(10), state: { elapsed: 999 } };
    await writeCheckpoint(run, again);
    expect((await readCheckpoint(join(run, 'checkpoints', 'step-10'))).state).toEqual({ elapsed: 999, step: 10 });
    expect(await readdir(join(run, 'checkpoints'))).toEqual(['step-10']);
  });

  it('refuses bad arguments before touching the disk', async () => {
    await expectCode(writeCheckpoint(run, data(-1)), 'BAD_ARGUMENT', 'step');
    await expectCode(writeCheckpoint(run, data(1.5)), 'BAD_ARGUMENT', 'step');
    await expectCode(writeCheckpoint(run, data(1), { keep: 0 }), 'BAD_ARGUMENT', 'keep');
    await expectCode(writeCheckpoint(run, { ...data(1), model: [] }), 'BAD_ARGUMENT', 'model');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expectCode(writeCheckpoint(run, { ...data(1), state: cyclic }), 'BAD_ARGUMENT', 'state');
    await expectCode(writeCheckpoint(run, { ...data(1), weights: { '../w': data(1).optimizer['m/w'] } }), 'BAD_ARGUMENT', '../w');
    expect(await readdir(run)).toEqual([]);
  });

  it('lists only whole-looking step folders, oldest first, ignoring junk', async () => {
    for (const step of [100, 9, 20]) await writeCheckpoint(run, data(step), { keep: 10 });
    const ck = join(run, 'checkpoints');
    await writeFile(join(ck, 'step-5'), 'a file, not a folder');
    for (const junk of ['step-007', 'step-x', 'step-', 'Step-3', 'notes', '.step-30.tmp-1-abc', 'step-1.bak']) await mkdir(join(ck, junk));
    expect(await listCheckpoints(run)).toEqual([9, 20, 100].map((step) => ({ step, dir: join(ck, `step-${step}`) })));
    expect(await listCheckpoints(join(root, 'no-such-run'))).toEqual([]);
  });
});

describe('averaged and best weights', () => {
  it('writes the average as ema.safetensors and reads it back; a checkpoint without one reads too', async () => {
    const ema = { tensors: data(7).weights, meta: { weights: 'avg', updates: '10' } };
    const dir = await writeCheckpoint(run, { ...data(10), ema });
    expect((await readCheckpoint(dir)).ema).toEqual(ema);
    expect((await readCheckpoint(await writeCheckpoint(run, data(20)))).ema).toBeUndefined();
  });

  it('keeps best/ beside the step folders: never listed, counted against keep, or pruned', async () => {
    await writeBestWeights(run, data(5).model, data(5).weights, { weights: 'best', step: '5' });
    for (const step of [10, 20, 30]) await writeCheckpoint(run, data(step), { keep: 1 });
    expect((await readdir(join(run, 'checkpoints'))).sort()).toEqual(['best', 'step-30']);
    expect((await listCheckpoints(run)).map((c) => c.step)).toEqual([30]);
    await writeBestWeights(run, data(6).model, data(6).weights, { weights: 'best', step: '6' });
    const back = decodeSafetensors(new Uint8Array(await readFile(join(run, 'checkpoints', 'best', 'weights.safetensors'))));
    expect(back.metadata).toEqual({ weights: 'best', step: '6' });
  });
});

describe('a killed writer', () => {
  it('leaves a temporary folder that is ignored, then removed; a live writer’s is kept', async () => {
    await writeCheckpoint(run, data(10));
    const ck = join(run, 'checkpoints');
    const torn = join(ck, `.step-20.tmp-${deadPid()}-a1b2c3`);
    await mkdir(torn);
    await writeFile(join(torn, 'weights.safetensors'), encodeSafetensors(data(20).weights).subarray(0, 37));
    const tornOld = join(ck, `.step-10.tmp-${deadPid()}-old-d4e5f6`);
    await mkdir(tornOld);
    // A temporary folder named with our own pid that this process is not writing: a previous
    // process with the same pid (a restarted container) left it.
    const ours = join(ck, `.step-30.tmp-${process.pid}-0a0b0c`);
    await mkdir(ours);
    // One of a process that is still running may be being written right now.
    const live = join(ck, `.step-40.tmp-${process.ppid}-0d0e0f`);
    await mkdir(live);
    // The best weights are written the same way.
    await mkdir(join(ck, `.best.tmp-${deadPid()}-0f0f0f`));

    expect((await listCheckpoints(run)).map((c) => c.step)).toEqual([10]);
    expect(await latestCheckpoint(run)).toEqual({ step: 10, dir: join(ck, 'step-10') });
    expect(await removeStaleTemporaries(run)).toBe(4);
    expect((await readdir(ck)).sort()).toEqual([`.step-40.tmp-${process.ppid}-0d0e0f`, 'step-10']);
    expect(await removeStaleTemporaries(run)).toBe(0);
  });

  it('cannot leave a step folder behind: until the rename, only the temporary one exists', async () => {
    // Stop the writer at its last step (the rename into place), as a kill would.
    failOn('rename', /\.tmp-\d+-[0-9a-f]+$/, 'EINTR');
    await expectCode(writeCheckpoint(run, data(10)), 'IO_ERROR');
    expect(await listCheckpoints(run)).toEqual([]);
    expect(await latestCheckpoint(run)).toBeNull();
  });
});

describe('a failed write keeps the previous checkpoint', () => {
  const cases = [
    ['ENOSPC', 'open', /optimizer\.safetensors$/, 'disk full'],
    ['ENOSPC', 'open', /state\.json$/, 'disk full'],
    ['EROFS', 'mkdir', /\.step-20\.tmp-/, 'read-only'],
    ['EACCES', 'rename', /\.step-20\.tmp-\d+-[0-9a-f]+$/, 'permission denied'],
  ] as const;
  for (const [code, fn, when, words] of cases) {
    it(`${code} from ${fn} (${when.source}): IO_ERROR naming the folder and "${words}"`, async () => {
      await writeCheckpoint(run, data(10));
      failOn(fn, when, code);
      const err = await expectCode(writeCheckpoint(run, data(20)), 'IO_ERROR', words, join(run, 'checkpoints', 'step-20'));
      expect(err.message).toContain(code);
      vi.mocked(fsp[fn]).mockImplementation(real[fn] as never);
      expect(await readdir(join(run, 'checkpoints'))).toEqual(['step-10']);
      expect((await readCheckpoint(join(run, 'checkpoints', 'step-10'))).step).toBe(10);
    });
  }

  it('puts the old checkpoint of the same step back when its replacement cannot be renamed in', async () => {
    await writeCheckpoint(run, data(10));
    failOn('rename', /\.step-10\.tmp-\d+-[0-9a-f]+$/, 'ENOSPC');
    await expectCode(writeCheckpoint(run, { ...data(10), state: { elapsed: 999 } }), 'IO_ERROR', 'disk full');
    vi.mocked(fsp.rename).mockImplementation(real.rename);
    expect(await readdir(join(run, 'checkpoints'))).toEqual(['step-10']);
    expect((await readCheckpoint(join(run, 'checkpoints', 'step-10'))).state).toEqual({ elapsed: 20, rng: { hi: 123, lo: -456 }, step: 10 });
  });
});

describe('reading damaged checkpoints', () => {
  const damages: [string, (dir: string) => Promise<void>, string, RegExp][] = [
    ['a missing state.json', (d) => rm(join(d, 'state.json')), 'state.json', /is missing/],
    ['a missing weights file', (d) => rm(join(d, 'weights.safetensors')), 'weights.safetensors', /is missing/],
    ['state.json that is not JSON', (d) => writeFile(join(d, 'state.json'), '{"step": 1'), 'state.json', /state\.json is not valid JSON/],
    ['state.json that is an array', (d) => writeFile(join(d, 'state.json'), '[1]'), 'state.json', /state\.json: the top level is wrong/],
    ['state.json without a step', (d) => writeFile(join(d, 'state.json'), '{"elapsed": 1}'), 'state.json', /state\.json: "step" is wrong/],
    ['state.json with a negative step', (d) => writeFile(join(d, 'state.json'), '{"step": -3}'), 'state.json', /state\.json: "step" is wrong/],
    ['state.json with a text elapsed time', (d) => writeFile(join(d, 'state.json'), '{"step": 10, "elapsed": "1h"}'), 'state.json', /state\.json: "elapsed" is wrong/],
    ['state.json of another step', (d) => writeFile(join(d, 'state.json'), '{"step": 11}'), 'state.json', /says step 11 but its folder is step-10/],
    ['model.json that is null', (d) => writeFile(join(d, 'model.json'), 'null'), 'model.json', /not a JSON object/],
    ['model.json that is not UTF-8', (d) => writeFile(join(d, 'model.json'), Buffer.from([0x7b, 0xff, 0x7d])), 'model.json', /not valid UTF-8/],
    ['truncated weights', async (d) => writeFile(join(d, 'weights.safetensors'), (await readFile(join(d, 'weights.safetensors'))).subarray(0, 50)), 'weights.safetensors', /./],
    ['an optimizer file of zero bytes', (d) => writeFile(join(d, 'optimizer.safetensors'), ''), 'optimizer.safetensors', /too short/],
    // Absent is fine (averaging off, or an older checkpoint); damaged spoils the checkpoint.
    ['a truncated weight average', (d) => writeFile(join(d, 'ema.safetensors'), 'broken'), 'ema.safetensors', /./],
  ];
  for (const [label, damage, file, pattern] of damages) {
    it(`refuses ${label} with BAD_CHECKPOINT naming ${file}`, async () => {
      const dir = await writeCheckpoint(run, data(10));
      await damage(dir);
      const err = await expectCode(readCheckpoint(dir), 'BAD_CHECKPOINT', join(dir, file));
      expect(err.message).toMatch(pattern);
    });
  }

  it('falls back from a damaged newest checkpoint to the previous one, and says so', async () => {
    await writeCheckpoint(run, data(10));
    await writeCheckpoint(run, data(20));
    await writeFile(join(run, 'checkpoints', 'step-20', 'weights.safetensors'), 'broken');
    const warnings: string[] = [];
    expect((await latestCheckpoint(run, (w) => warnings.push(w)))!.step).toBe(10);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(join(run, 'checkpoints', 'step-20'));
    expect(warnings[0]).toMatch(/unreadable .*falling back to step-10/);
    await writeFile(join(run, 'checkpoints', 'step-10', 'state.json'), '');
    expect(await latestCheckpoint(run, (w) => warnings.push(w))).toBeNull();
    expect(warnings[2]).toMatch(/no older checkpoint/);
  });
});

describe('resolving a RUN_OR_CHECKPOINT argument', () => {
  it('accepts a run folder, its checkpoints folder, a checkpoint folder and an exported model', async () => {
    await writeCheckpoint(run, data(10));
    await writeCheckpoint(run, data(20));
    const newest = join(run, 'checkpoints', 'step-20');
    expect(await resolveModelDir(run)).toBe(newest);
    expect(await resolveModelDir(join(run, 'checkpoints'))).toBe(newest);
    expect(await resolveModelDir(join(run, 'checkpoints', 'step-10'))).toBe(join(run, 'checkpoints', 'step-10'));
    const exported = join(root, 'exported');
    await mkdir(exported);
    await writeFile(join(exported, 'model.json'), '{}');
    await writeFile(join(exported, 'weights.safetensors'), encodeSafetensors({}));
    expect(await resolveModelDir(exported)).toBe(exported);
  });

  it("takes a run's model only from its own checkpoints, never from a stray copy at its top level", async () => {
    await writeCheckpoint(run, data(10));
    // An export written over the run by an earlier version: model files beside run.json.
    await writeFile(join(run, 'run.json'), '{}');
    await writeFile(join(run, 'model.json'), '{}');
    await writeFile(join(run, 'weights.safetensors'), encodeSafetensors({}));
    expect(await resolveModelDir(run)).toBe(join(run, 'checkpoints', 'step-10'));
    await rm(join(run, 'checkpoints'), { recursive: true });
    await expectCode(resolveModelDir(run), 'NO_CHECKPOINT', run, 'has no whole checkpoint');
  });

  it('skips a damaged newest checkpoint, telling the caller', async () => {
    await writeCheckpoint(run, data(10));
    await writeCheckpoint(run, data(20));
    await rm(join(run, 'checkpoints', 'step-20', 'weights.safetensors'));
    const warnings: string[] = [];
    expect(await resolveModelDir(run, (w) => warnings.push(w))).toBe(join(run, 'checkpoints', 'step-10'));
    expect(warnings[0]).toContain('step-20');
  });

  it('refuses, with NO_CHECKPOINT and the path, anything that holds no model', async () => {
    await expectCode(resolveModelDir(run), 'NO_CHECKPOINT', run, 'holds no model');
    await expectCode(resolveModelDir(join(root, 'nope')), 'NO_CHECKPOINT', 'does not exist');
    await writeFile(join(root, 'a-file'), 'x');
    await expectCode(resolveModelDir(join(root, 'a-file')), 'NO_CHECKPOINT', 'is a file');
    await writeCheckpoint(run, data(10));
    await rm(join(run, 'checkpoints', 'step-10', 'state.json'));
    await expectCode(resolveModelDir(run), 'NO_CHECKPOINT', 'none reads back whole');
  });
});
