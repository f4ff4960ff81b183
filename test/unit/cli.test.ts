// The command line as a person uses it: help on every command, clear one-line errors with a
// non-zero exit for bad arguments (never a stack trace), and train -> eval -> sample end to end.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeImageFolder } from '../helpers/image-folder.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'flowdesk.mjs');

function flowdesk(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, FLOWDESK_BACKEND: 'wasm', FLOWDESK_CACHE: cache } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let cache: string;
let runs: string;
let images: Awaited<ReturnType<typeof makeImageFolder>>;

beforeAll(async () => {
  cache = await mkdtemp(join(tmpdir(), 'flowdesk-cli-cache-'));
  runs = await mkdtemp(join(tmpdir(), 'flowdesk-cli-runs-'));
  images = await makeImageFolder({ count: 24, size: 8, channels: 1 });
});
afterAll(async () => {
  await images.cleanup();
  await rm(cache, { recursive: true, force: true });
  await rm(runs, { recursive: true, force: true });
});

describe('flowdesk CLI', () => {
  it('prints help for every command', () => {
    for (const cmd of ['train', 'eval', 'sample', 'interpolate', 'attribute', 'rank', 'export', 'import', 'serve']) {
      const r = flowdesk(cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: flowdesk ${cmd}`));
    }
    expect(flowdesk('--help').out).toMatch(/Commands:/);
  });

  it('refuses bad arguments with one clear line and a non-zero exit', () => {
    const cases: [string[], RegExp][] = [
      [['train', '--lr', 'fast'], /--lr must be a number/],
      [['train', '--model', 'vae'], /--model must be one of glow, realnvp, nice/],
      [['train', '--size', '15'], /size 15 must be divisible by 2\^levels/],
      [['train', '--channels', '2'], /--channels must be one of 1, 3, got 2/],
      [['train', '--bogus'], /Unknown option '--bogus'/],
      [['train', join(runs, 'missing-folder')], /does not exist/],
      [['eval', join(runs, 'nope'), images.dir], /nope does not exist; give a run folder/],
      [['sample', runs], /sample needs an output file/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ];
    for (const [args, message] of cases) {
      const r = flowdesk(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
    }
  });

  it('trains, evaluates and samples a run', () => {
    const t = flowdesk('train', images.dir, '--size', '8', '--channels', '1', '--levels', '2', '--depth', '1', '--hidden', '8', '--batch', '8', '--steps', '6', '--eval-every', '3', '--out', runs, '--name', 'cli');
    expect(t.code, t.err).toBe(0);
    expect(t.err).toMatch(/^backend: (onnx|wasm)/m);
    expect(t.out).toMatch(/validation bits\/dim: [\d.]+ at start -> [\d.]+ now/);
    const e = flowdesk('eval', join(runs, 'cli'), images.dir, '--json');
    expect(e.code, e.err).toBe(0);
    const result = JSON.parse(e.out);
    expect(result.images).toBe(24);
    expect(result.bpd).toBeGreaterThan(0);
    expect(result.bpd).toBeLessThan(12);
    const out = join(runs, 'grid.png');
    const s = flowdesk('sample', join(runs, 'cli'), '--n', '4', '--temperature', '0.5', '-o', out);
    expect(s.code, s.err).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  it('stops on Ctrl-C after writing a checkpoint, and resumes from it', async () => {
    const child = spawn(process.execPath, [BIN, 'train', images.dir, '--size', '8', '--channels', '1', '--levels', '1', '--depth', '1', '--hidden', '8', '--batch', '4', '--steps', '100000', '--checkpoint-every', '100000', '--out', runs, '--name', 'interrupted', '--json'], {
      env: { ...process.env, FLOWDESK_BACKEND: 'wasm', FLOWDESK_CACHE: cache },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await vi.waitFor(() => expect(out).toMatch(/"type":"step","step":5,/), { timeout: 60_000, interval: 100 });
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    const done = out.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.type === 'done');
    expect(done).toMatchObject({ reason: 'cancelled' });
    const checkpoints = await readdir(join(runs, 'interrupted', 'checkpoints'));
    expect(checkpoints).toContain(`step-${done.step}`);
    const r = flowdesk('train', '--resume', join(runs, 'interrupted'), '--steps', String(done.step + 2));
    expect(r.code, r.err).toBe(0);
    expect(r.err + r.out).toMatch(new RegExp(`Resuming .* from step ${done.step} to ${done.step + 2}`));
  });

  it('refuses a second writer on a run that is training, naming the process that holds it', async () => {
    const child = spawn(process.execPath, [BIN, 'train', images.dir, '--size', '8', '--channels', '1', '--levels', '1', '--depth', '1', '--hidden', '8', '--batch', '4', '--steps', '100000', '--checkpoint-every', '2', '--out', runs, '--name', 'busy', '--json'], {
      env: { ...process.env, FLOWDESK_BACKEND: 'wasm', FLOWDESK_CACHE: cache },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    try {
      await vi.waitFor(() => expect(out).toMatch(/"type":"checkpoint","step":2,/), { timeout: 60_000, interval: 100 });
      const r = flowdesk('train', '--resume', join(runs, 'busy'));
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(new RegExp(`run .*busy is in use by process ${child.pid} since .*; stop it first`));
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(child.exitCode).toBe(null); // the first writer carries on
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('interpolates, moves along an attribute, ranks, exports and imports', async () => {
    const run = join(runs, 'cli');
    const [a, b, c, d] = images.good;
    const strip = join(runs, 'strip.png');
    let r = flowdesk('interpolate', run, a, b, '--steps', '5', '--spherical', '-o', strip);
    expect(r.code, r.err).toBe(0);
    expect(await sharp(strip).metadata()).toMatchObject({ width: 5 * 8 + 6 * 2, height: 8 + 2 * 2 });
    r = flowdesk('interpolate', run, a, b, c, d, '--steps', '3', '-o', join(runs, 'grid.png'));
    expect(r.code, r.err).toBe(0);
    expect(await sharp(join(runs, 'grid.png')).metadata()).toMatchObject({ width: 3 * 8 + 4 * 2, height: 3 * 8 + 4 * 2 });
    r = flowdesk('interpolate', run, a, b, '--steps', '4', '-o', join(runs, 'strip.gif'));
    expect(r.code, r.err).toBe(0);
    expect((await sharp(join(runs, 'strip.gif')).metadata()).pages).toBe(6);
    expect(flowdesk('interpolate', run, a, b, c, '-o', strip).err).toMatch(/two or four images/);

    r = flowdesk('attribute', run, '--with', images.dir, '--without', images.dir, '--image', a, '--alphas', '-1,0,1', '-o', join(runs, 'attr.png'));
    expect(r.code, r.err).toBe(0);
    expect(flowdesk('attribute', run, '--with', images.dir, '--without', images.dir, '--image', a, '--alphas', 'x', '-o', 'o.png').err).toMatch(/--alphas must be/);

    r = flowdesk('rank', run, images.dir, '--json', '--csv', join(runs, 'rank.csv'));
    expect(r.code, r.err).toBe(0);
    const rows = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(24);
    for (let i = 1; i < rows.length; i++) expect(rows[i - 1].bpd).toBeGreaterThanOrEqual(rows[i].bpd);
    expect(Object.keys(rows[0])).toEqual(['path', 'bpd']);
    expect((await readFile(join(runs, 'rank.csv'), 'utf8')).split('\n')[0]).toBe('path,bpd');

    const exported = join(runs, 'exported');
    expect(flowdesk('export', run, '-o', exported).code).toBe(0);
    r = flowdesk('import', exported, '--out', runs, '--name', 'back');
    expect(r.code, r.err).toBe(0);
    const before = JSON.parse(flowdesk('eval', run, images.dir, '--json').out).bpd;
    const after = JSON.parse(flowdesk('eval', join(runs, 'back'), images.dir, '--json').out).bpd;
    expect(after).toBe(before);
  });
});
