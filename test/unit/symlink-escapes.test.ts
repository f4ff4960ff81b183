// Symbolic links against the allowed roots (issue 11, point 3): a folder argument that is a link
// out of the roots is refused for every call that names one; a root that is itself a link counts
// by its real path; links inside an image folder that leave the roots are skipped and named; a
// model.json linking to an outside file is refused without a byte of it in the error; and a link
// swapped after the check, or between the check and the open, still cannot lead out.
import { mkdir, mkdtemp, open, readdir, realpath, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppBackend } from '../../main/app-backend.ts';
import { validateRequest } from '../../main/api-validation.ts';
import { importModel } from '../../main/engine/runs/model-export.ts';
import { encodeSafetensors } from '../../main/engine/checkpoint/safetensors.ts';
import { readFolderFile } from '../../main/engine/data/decode.ts';
import { importImageFolder } from '../../main/engine/data/index.ts';
import { LEADS_OUTSIDE, openedInsideRoots } from '../../main/engine/fs/real-paths.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { exportWeights, modelJson } from '../../main/engine/models/model-io.ts';
import * as tf from '../../main/engine/tf.ts';
import { ExploreService } from '../../main/worker/explore-service.ts';
import type { WorkerHost } from '../../main/worker/host.ts';
import { ModelCache } from '../../main/worker/model-cache.ts';
import { makeImageFolder, type ImageFolder } from '../helpers/image-folder.ts';

/** A folder outside every default root (home, temp, the working folder, resources). */
const OUTSIDE_SYSTEM = '/etc';
const SECRET = 'TOPSECRET-7f3a9c';

let tmp: string;
let inside: ImageFolder;
let outside: ImageFolder;
/** The roots the engine-level tests pass: only the inside folder. */
let roots: string[];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'flowdesk-links-'));
  inside = await makeImageFolder({ count: 4, size: 8 });
  outside = await makeImageFolder({ count: 3, size: 8, seed: 1 });
  roots = [await realpath(inside.dir)];
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
  await inside.cleanup();
  await outside.cleanup();
});

function refusal(method: string, arg: unknown): { code?: string; message?: string } | undefined {
  try {
    validateRequest(method, arg);
  } catch (e) {
    return e as { code: string; message: string };
  }
  return undefined;
}

describe('folder arguments are judged by their real path', () => {
  const train = { batch: 4, steps: 2, lr: 1e-3, warmup: 0, nBits: 5, seed: 0, evalEvery: 1, checkpointEvery: 1 };
  const model = { kind: 'nice', size: 8, channels: 1, depth: 2, hidden: 8 };

  it('refuses a link in an allowed root that leads out, for every call that names a folder', async () => {
    const link = join(tmp, 'etc-link');
    await symlink(OUTSIDE_SYSTEM, link);
    const calls: [string, unknown][] = [
      ['importFolder', { folder: link, size: 8, channels: 1 }],
      ['startTraining', { folder: link, model, train }],
      ['rankFolder', { runId: 'r', folder: join(link, 'ssl') }],
      ['computeDirection', { runId: 'r', name: 'n', withFolder: link, withoutFolder: tmp }],
      ['computeDirection', { runId: 'r', name: 'n', withFolder: tmp, withoutFolder: link }],
      ['importModel', { folder: link }],
      ['exportModel', { runId: 'r', folder: link }],
      // A folder to be created beneath the link: its deepest existing parent leads out.
      ['exportModel', { runId: 'r', folder: join(link, 'new', 'deeper') }],
    ];
    for (const [method, arg] of calls) {
      const err = refusal(method, arg);
      expect(err?.code, `${method} ${JSON.stringify(arg)}`).toBe('BAD_ARGUMENT');
      expect(err?.message).toMatch(/is outside the folders FlowDesk may read through a link/);
      expect(err?.message, 'where the link leads is not echoed').not.toMatch(/(^|[\s(])\/etc([\s),;]|$)/);
    }
    // The same folders without the link are accepted.
    expect(refusal('exportModel', { runId: 'r', folder: join(tmp, 'new', 'deeper') })).toBeUndefined();
  });

  it('refuses a path through a broken link, whose target could be anywhere', async () => {
    const dangling = join(tmp, 'dangling');
    await symlink(join(tmp, 'missing-target'), dangling);
    expect(refusal('exportModel', { runId: 'r', folder: join(dangling, 'out') })?.message).toMatch(/goes through the link .* whose target is missing/);
  });

  it('counts a root that is itself a link by its real path', async () => {
    const rootLink = join(tmp, 'root-link');
    await symlink(OUTSIDE_SYSTEM, rootLink);
    const saved = process.env.FLOWDESK_ROOTS;
    process.env.FLOWDESK_ROOTS = rootLink;
    try {
      expect(refusal('importFolder', { folder: OUTSIDE_SYSTEM, size: 8, channels: 1 })).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.FLOWDESK_ROOTS;
      else process.env.FLOWDESK_ROOTS = saved;
    }
    expect(refusal('importFolder', { folder: OUTSIDE_SYSTEM, size: 8, channels: 1 })?.code).toBe('BAD_ARGUMENT');
  });
});

describe('links inside an image folder', () => {
  it('follows links that stay inside the roots and skips, naming them, those that leave', async () => {
    const dir = join(inside.dir, 'mixed');
    await mkdir(dir);
    for (const [name, target] of [['own.png', inside.good[0]], ['out.png', outside.good[0]], ['out-folder', outside.dir]]) await symlink(target, join(dir, name));
    const { report } = await importImageFolder(dir, { size: 8, channels: 1, cacheDir: null, valFraction: 0, roots });
    expect(report.used).toBe(1);
    expect(report.skipped).toEqual([
      { path: join(dir, 'out-folder'), reason: LEADS_OUTSIDE },
      { path: join(dir, 'out.png'), reason: LEADS_OUTSIDE },
    ]);
    // The CLI has no roots: the same folder reads every image the links lead to.
    const cli = await importImageFolder(dir, { size: 8, channels: 1, cacheDir: null, valFraction: 0 });
    expect(cli.report.used).toBe(1 + 1 + outside.good.length);
  });

  it('refuses a folder checked while inside that was swapped for a link out before the import', async () => {
    const link = join(tmp, 'swapped-folder');
    await symlink(inside.dir, link);
    expect((await importImageFolder(link, { size: 8, channels: 1, cacheDir: null, roots })).report.used).toBeGreaterThan(0);
    await unlink(link);
    await symlink(outside.dir, link);
    await expect(importImageFolder(link, { size: 8, channels: 1, cacheDir: null, roots })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/leads outside the folders FlowDesk may read/) });
  });

  it('judges the opened file, so a link swapped around the open cannot lead out', async () => {
    const link = join(inside.dir, 'flip.png');
    // Opened while it led out, then pointed back inside before the check: the inode gives it away.
    await symlink(outside.good[0], link);
    let handle = await open(link, 'r');
    await unlink(link);
    await symlink(inside.good[1], link);
    expect(await openedInsideRoots(handle, link, roots)).toBe(false);
    await handle.close();
    // Opened while inside, then pointed out: refused too (the name no longer leads inside).
    handle = await open(link, 'r');
    await unlink(link);
    await symlink(outside.good[0], link);
    expect(await openedInsideRoots(handle, link, roots)).toBe(false);
    await handle.close();
    await expect(readFolderFile(link, undefined, roots)).rejects.toMatchObject({ code: 'BAD_IMAGE', message: LEADS_OUTSIDE });
    await unlink(link);
    // A file that really is inside passes.
    handle = await open(inside.good[1], 'r');
    expect(await openedInsideRoots(handle, inside.good[1], roots)).toBe(true);
    await handle.close();
  });
});

describe('model files that link out', () => {
  let modelDir: string;
  let secretDir: string;
  let weights: Uint8Array;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    const m = createModel({ kind: 'nice', size: 8, channels: 1, depth: 2, hidden: 8 }, 1);
    weights = encodeSafetensors(exportWeights(m));
    m.dispose();
    secretDir = await mkdtemp(join(tmpdir(), 'flowdesk-secret-'));
    modelDir = join(inside.dir, 'model');
    await mkdir(modelDir);
  });
  afterAll(() => rm(secretDir, { recursive: true, force: true }));

  const secrets: [string, string][] = [
    ['plain text', `${SECRET} the password is hunter2\n`],
    ['JSON with a foreign format', JSON.stringify({ format: SECRET, version: SECRET, nBits: SECRET })],
  ];
  for (const [label, content] of secrets) {
    it(`refuses a model.json linking to an outside file (${label}) and never quotes it`, async () => {
      const secret = join(secretDir, `secret-${label.length}.txt`);
      await writeFile(secret, content);
      await rm(join(modelDir, 'model.json'), { force: true });
      await writeFile(join(modelDir, 'weights.safetensors'), weights);
      await symlink(secret, join(modelDir, 'model.json'));
      const runs = await mkdtemp(join(tmp, 'runs-'));
      const withRoots = await importModel(modelDir, runs, undefined, roots).catch((e: Error) => e);
      expect(withRoots).toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringMatching(/model\.json leads outside the folders FlowDesk may read/) });
      // The CLI reads it (its user may read the file anyway), but the error still quotes nothing.
      const cli = await importModel(modelDir, runs, undefined).catch((e: Error) => e);
      expect(cli).toMatchObject({ code: 'BAD_CHECKPOINT' });
      for (const err of [withRoots, cli]) {
        expect((err as Error).message).not.toContain('TOPSECRET');
        expect((err as Error).message).not.toContain('hunter2');
      }
      expect(await readdir(runs)).toEqual([]);
    });
  }

  it('refuses weights.safetensors linking to an outside file and never quotes its bytes', async () => {
    await rm(join(modelDir, 'model.json'), { force: true });
    await rm(join(modelDir, 'weights.safetensors'), { force: true });
    const m = createModel({ kind: 'nice', size: 8, channels: 1, depth: 2, hidden: 8 }, 1);
    await writeFile(join(modelDir, 'model.json'), JSON.stringify(modelJson(m, 5)));
    m.dispose();
    const secret = join(secretDir, 'weights-secret');
    await writeFile(secret, `${SECRET}${' '.repeat(64)}`);
    await symlink(secret, join(modelDir, 'weights.safetensors'));
    const runs = await mkdtemp(join(tmp, 'runs-'));
    await expect(importModel(modelDir, runs, undefined, roots)).rejects.toMatchObject({ message: expect.stringMatching(/weights\.safetensors leads outside/) });
    const cli = await importModel(modelDir, runs).catch((e: Error) => e);
    // The header length is the file's first 8 bytes: a number quoted would be the secret's text.
    const asNumber = Buffer.from(SECRET).readBigUInt64LE(0).toString();
    expect((cli as Error).message).not.toContain(asNumber);
    expect((cli as Error).message).not.toContain('TOPSECRET');
  });
});

describe('exports', () => {
  it('never creates or writes a folder through a link that leads out', async () => {
    const link = join(inside.dir, 'export-link');
    await symlink(outside.dir, link);
    const service = new ExploreService(join(tmp, 'runs'), new ModelCache(), roots, () => undefined);
    await expect(service.exportModel({ runId: 'r', folder: join(link, 'new') })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/leads outside the folders FlowDesk may write/) });
    expect(await readdir(outside.dir)).not.toContain('new');
  });
});

describe('the page cannot widen the roots', () => {
  it('gains nothing by its own calls; only a folder picked in the dialog is allowed', async () => {
    // No worker is needed: the refusal comes before any call reaches it.
    const host = { allowFolder: () => undefined } as unknown as WorkerHost;
    const refused = { ok: false, error: { code: 'BAD_ARGUMENT' } };
    const page = createAppBackend({ mode: 'electron', runsDir: tmp, host });
    expect(await page('importFolder', { folder: OUTSIDE_SYSTEM, size: 8, channels: 1 })).toMatchObject(refused);
    expect(await page('requestFolderAccess', { folder: OUTSIDE_SYSTEM })).toMatchObject(refused);
    expect(await page('importFolder', { folder: OUTSIDE_SYSTEM, size: 8, channels: 1 })).toMatchObject(refused);
    // The dialog is the person's confirmation (folder-access.test.ts has browser mode's terminal).
    const dialog = createAppBackend({ mode: 'electron', runsDir: tmp, host, chooseFolder: async () => OUTSIDE_SYSTEM });
    expect(await dialog('chooseFolder', null)).toEqual({ ok: true, value: OUTSIDE_SYSTEM });
    expect(() => validateRequest('importFolder', { folder: OUTSIDE_SYSTEM, size: 8, channels: 1 })).not.toThrow();
  });
});
