// Nothing in a run folder changes before its lock is held: every call refused because another
// process trains the run (resume from the engine, the CLI or the app's Api, a new run under the
// same name) leaves the folder byte-identical, hashed before and after.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { train, resume } from '../../main/engine/train/trainer.ts';
import { EngineService } from '../../main/worker/service.ts';
import { ModelCache } from '../../main/worker/model-cache.ts';
import { BIN, cliEnv } from '../helpers/cli-env.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';
import { lockHeldElsewhere } from '../helpers/foreign-lock.ts';

let root: string;
let runDir: string;
let images: Awaited<ReturnType<typeof makeImageFolder>>;
let holder: ChildProcess;

/** Every file under `dir` with the hash of its bytes, and every folder, sorted. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    const rel = relative(dir, path);
    if (entry.isDirectory()) out.push(`${rel}/`);
    else out.push(`${rel} ${createHash('sha256').update(await readFile(path)).digest('hex')}`);
  }
  return out.sort();
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowdesk-refused-'));
  images = await makeImageFolder({ count: 24, size: 8, channels: 1 });
  const result = await train({
    folder: images.dir,
    model: { kind: 'glow', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8 },
    train: { batch: 4, steps: 4, evalEvery: 2, checkpointEvery: 2 },
    runsDir: root,
    name: 'live',
    backend: 'wasm',
    cacheDir: null,
  });
  runDir = result.runDir;
  // Another process that holds the run's lock, as a trainer in progress does.
  holder = await lockHeldElsewhere(runDir);
}, 120_000);

afterAll(async () => {
  holder?.kill();
  await images?.cleanup();
  await rm(root, { recursive: true, force: true });
});

describe('calls refused on a run another process trains', () => {
  it('engine resume with new steps: RUN_LOCKED, folder unchanged', async () => {
    const before = await snapshot(runDir);
    await expect(resume(runDir, { steps: 7, backend: 'wasm', cacheDir: null })).rejects.toMatchObject({ code: 'RUN_LOCKED' });
    expect(await snapshot(runDir)).toEqual(before);
  });

  it('flowdesk train --resume RUN --steps 9: refused, folder unchanged', async () => {
    const before = await snapshot(runDir);
    const r = spawnSync(process.execPath, [BIN, 'train', '--resume', runDir, '--steps', '9'], { encoding: 'utf8', env: cliEnv(root) });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`in use by process ${holder.pid}`));
    expect(await snapshot(runDir)).toEqual(before);
  });

  it("the app's resumeTraining from a second worker on the same runs folder: refused, folder unchanged", async () => {
    const before = await snapshot(runDir);
    const events: unknown[] = [];
    const service = new EngineService(root, (e) => events.push(e), new ModelCache(), [root]);
    await expect(service.resumeTraining({ runId: 'live', steps: 11 })).rejects.toMatchObject({ code: 'RUN_LOCKED' });
    expect(await snapshot(runDir)).toEqual(before);
  });

  it('a new run under the same name: refused, folder unchanged', async () => {
    const before = await snapshot(runDir);
    await expect(
      train({ folder: images.dir, model: { kind: 'glow', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8 }, train: { steps: 1 }, runsDir: root, name: 'live', backend: 'wasm', cacheDir: null }),
    ).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    expect(await snapshot(runDir)).toEqual(before);
  });
});
