// Where onnxruntime-node loads from: FlowDesk's own copy first, then `flowdesk setup onnx`'s folder in
// the data folder ($FLOWDESK_DATA_DIR here), shown with fake packages on disk (no npm, no network);
// the version set up is the one package.json pins, the same the lock resolved.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { dataDir, defaultRunsDir } from '../../main/engine/app-paths.ts';
import { ORT_PACKAGE, ortSetupDir, ortVersion } from '../../main/engine/onnx/ort-package.ts';
import { requireFirst, type FirstLoad } from '../../main/engine/require-first.ts';

const ROOT = join(import.meta.dirname, '..', '..');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'flowdesk-ort-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** A fake onnxruntime-node in `folder`/node_modules whose module says where it is, or throws `fails`. */
async function fakeOrt(folder: string, fails?: string): Promise<string> {
  const dir = join(folder, 'node_modules', ORT_PACKAGE);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: ORT_PACKAGE, version: ortVersion(), main: 'index.js' }));
  await writeFile(join(dir, 'index.js'), fails ? `throw new Error(${JSON.stringify(fails)});` : `module.exports = { where: ${JSON.stringify(folder)} };`);
  return dir;
}

/** Fresh folders for one case: FlowDesk's "own" place to resolve from, and a data folder set as $FLOWDESK_DATA_DIR. */
async function places(name: string): Promise<{ own: string; data: string; bases: string[] }> {
  const own = join(tmp, name, 'flowdesk');
  const data = join(tmp, name, 'data');
  await mkdir(own, { recursive: true });
  vi.stubEnv('FLOWDESK_DATA_DIR', data);
  return { own, data, bases: [`${own}/`, `${ortSetupDir()}/`] };
}

function where(found: FirstLoad<{ where: string }>): string | undefined {
  return 'module' in found ? found.module.where : undefined;
}

describe('loading onnxruntime-node', () => {
  it("prefers FlowDesk's own copy when both exist", async () => {
    const { own, bases } = await places('both');
    const ownDir = await fakeOrt(own);
    await fakeOrt(ortSetupDir());
    const found = requireFirst<{ where: string }>(ORT_PACKAGE, bases);
    expect(where(found)).toBe(own);
    expect(found).toMatchObject({ from: ownDir });
  });

  it("loads `flowdesk setup onnx`'s copy, in the data folder, where FlowDesk has none", async () => {
    const { data, bases } = await places('setup-only');
    const setupDir = await fakeOrt(ortSetupDir());
    expect(setupDir).toBe(join(data, ORT_PACKAGE, ortVersion(), 'node_modules', ORT_PACKAGE));
    const found = requireFirst<{ where: string }>(ORT_PACKAGE, bases);
    expect(where(found)).toBe(ortSetupDir());
    expect(found).toMatchObject({ from: setupDir });
  });

  it('passes over a copy that throws while loading, and names it when nothing else loads', async () => {
    const { own, bases } = await places('broken');
    const ownDir = await fakeOrt(own, 'no binding for this platform');
    const failed = requireFirst(ORT_PACKAGE, bases);
    expect(failed).toMatchObject({ from: ownDir, failed: { message: 'no binding for this platform' } });
    await fakeOrt(ortSetupDir());
    expect(where(requireFirst<{ where: string }>(ORT_PACKAGE, bases))).toBe(ortSetupDir());
  });

  it('is missing where neither place has it', async () => {
    const { bases } = await places('none');
    expect(requireFirst(ORT_PACKAGE, bases)).toEqual({ missing: true });
  });
});

describe('the setup folder', () => {
  it('is one folder per version under the data folder, which also holds the default runs folder', () => {
    vi.stubEnv('FLOWDESK_DATA_DIR', join(tmp, 'somewhere'));
    vi.stubEnv('FLOWDESK_RUNS_DIR', '');
    expect(dataDir()).toBe(join(tmp, 'somewhere'));
    expect(ortSetupDir('9.8.7')).toBe(join(tmp, 'somewhere', ORT_PACKAGE, '9.8.7'));
    expect(defaultRunsDir()).toBe(join(tmp, 'somewhere', 'runs'));
  });

  it('installs the version package.json pins, which is the one the lock resolved', async () => {
    const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    expect(ortVersion()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(ortVersion()).toBe(lock.packages[`node_modules/${ORT_PACKAGE}`].version);
  });
});
