// FlowDesk installed like a tool (issue 18, part 3): `npm pack` of this checkout, installed into an
// empty prefix and run outside any checkout, trains on onnx, samples and serves its page from the
// compiled JavaScript alone (no sources, no tsx). Packs what `npm run build` left in out/ (`npm test`
// builds just before; `npm pack` by hand builds through prepack, skipped here so the build runs once).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRID_GUTTER } from '../../main/engine/data/image-grid.ts';
import type { RunSummary } from '../../preload/api.ts';
import { cliEnv } from '../helpers/cli-env.ts';
import { makeImageFolder, type ImageFolder } from '../helpers/image-folder.ts';
import { callServe, spawnServeCommand } from '../helpers/serve-process.ts';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const BUILT_CLI = join(ROOT, 'out', 'main', 'cli.js');

/** What the package must ship: the launcher, the compiled CLI, worker and threads, the app's page, its preload and the digits. */
const SHIPPED = ['bin/flowdesk.mjs', 'out/main/cli.js', 'out/main/worker.js', 'out/main/model-replica.js', 'out/main/lab-thread.js', 'out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html', 'README.md', 'LICENSE', 'package.json'];
/** What it must not: tests, fixtures, benches, scratch files, and the TypeScript sources (with them, bin/flowdesk.mjs would need tsx). */
const NOT_SHIPPED = /(^|\/)(test|tests|fixtures|bench|scratch)\/|^(main|common|preload|renderer|scripts)\/|\.ts$/;
/** A tiny Glow, so 20 steps take seconds. */
const TINY = ['--size', '8', '--channels', '1', '--levels', '1', '--depth', '1', '--hidden', '8', '--batch', '8'];

/** npm settings kept from the environment: where packages come from and the person's own npmrc. */
const KEPT_NPM = /^npm_config_(cache|registry|userconfig)$/i;

/** This process's environment without the npm_* variables `npm test` sets (the checkout's .npmrc among them), so the install sees only what a person's shell has. */
function outsideNpm(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || KEPT_NPM.test(k))), ...extra };
}

describe.skipIf(!existsSync(BUILT_CLI))(`flowdesk installed from its npm pack tarball${existsSync(BUILT_CLI) ? '' : ' (skipped: run `npm run build` first; `npm test` does)'}`, () => {
  let tmp: string;
  let packed: string[];
  let flowdesk: string;
  let cwd: string;
  let runs: string;
  let env: NodeJS.ProcessEnv;
  let images: ImageFolder;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'flowdesk-install-'));
    const [pack] = JSON.parse((await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: ROOT, env: outsideNpm({}), maxBuffer: 64 << 20 })).stdout) as { filename: string; files: { path: string }[] }[];
    packed = pack.files.map((f) => f.path);
    const prefix = join(tmp, 'prefix');
    cwd = join(tmp, 'cwd');
    await mkdir(cwd);
    // The setting the checkout's .npmrc gives: onnxruntime-node's install script otherwise fetches CUDA libraries and, where it cannot, fails, so npm drops the optional package.
    await exec('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(tmp, pack.filename)], { cwd, env: outsideNpm({ ONNXRUNTIME_NODE_INSTALL: 'skip' }), maxBuffer: 64 << 20 });
    flowdesk = join(prefix, 'bin', 'flowdesk');
    runs = join(tmp, 'runs');
    env = cliEnv(join(tmp, 'home'), { FLOWDESK_BACKEND: 'onnx', FLOWDESK_CACHE: join(tmp, 'cache') });
    images = await makeImageFolder({ count: 16, size: 8, channels: 1 });
  }, 600_000);
  afterAll(async () => {
    await images?.cleanup();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('ships the built app and the digits, and no tests, fixtures, benches or sources', () => {
    for (const path of SHIPPED) expect(packed, path).toContain(path);
    expect(packed.filter((p) => p.startsWith('resources/digits/')).length).toBeGreaterThan(1000);
    expect(packed.filter((p) => NOT_SHIPPED.test(p))).toEqual([]);
  });

  let run: string;

  it('trains 20 steps on the onnx backend, outside any checkout and without tsx', async () => {
    expect(existsSync(join(flowdesk, '..', '..', 'lib', 'node_modules', 'flowdesk', 'node_modules', 'tsx'))).toBe(false);
    const { stdout, stderr } = await exec(flowdesk, ['train', images.dir, ...TINY, '--steps', '20', '--runs', runs], { cwd, env });
    expect(stderr).toMatch(/^backend: onnx /m);
    expect(stderr).toMatch(/Stopped at step 20 \(all steps done\)/);
    run = /^run: (.+)$/m.exec(stdout)![1];
  });

  it('samples a grid from the run', async () => {
    const grid = join(tmp, 'grid.png');
    await exec(flowdesk, ['sample', run, '--n', '4', '-o', grid], { cwd, env });
    // Two by two 8-pixel images with the gutter between and around them.
    const side = 2 * 8 + 3 * GRID_GUTTER;
    expect(await sharp(grid).metadata()).toMatchObject({ format: 'png', width: side, height: side, channels: 1 });
  });

  it('serves the built page, and its compiled worker lists the run', async () => {
    const s = await spawnServeCommand([flowdesk, 'serve', '--runs', runs], runs, { env, cwd });
    try {
      const page = await fetch(s.url);
      expect(page.status).toBe(200);
      const html = await page.text();
      const script = /<script[^>]+src="([^"]+\.js)"/.exec(html)?.[1];
      expect(script, html).toBeDefined();
      const asset = await fetch(new URL(script!, s.url), { headers: { cookie: page.headers.get('set-cookie')!.split(';')[0] } });
      expect([asset.status, asset.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
      const listed = await callServe<RunSummary[]>(s, 'listRuns', {});
      expect(listed, JSON.stringify(listed)).toMatchObject({ ok: true });
      expect(listed.value!.map((r) => [join(runs, r.id), r.step])).toEqual([[run, 20]]);
    } finally {
      process.kill(-s.child.pid!, 'SIGTERM');
      await s.exited;
    }
  });
});
