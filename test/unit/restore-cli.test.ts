// `flowdesk upscale` and `flowdesk inpaint` end to end on a tiny run trained here: the output row,
// the scores with --original, and one clear line for each bad input (sizes, missing files, masks).
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cliEnv } from '../helpers/cli-env.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

let home: string;
let images: Awaited<ReturnType<typeof makeImageFolder>>;
let run: string;

function flowdesk(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: cliEnv(home, { FLOWDESK_CACHE: join(home, 'cache') }) });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A grey PNG of side x side from f(row, col). */
async function greyPng(name: string, side: number, f: (row: number, col: number) => number): Promise<string> {
  const path = join(home, name);
  const pixels = Buffer.from(Array.from({ length: side * side }, (_, k) => f(Math.floor(k / side), k % side)));
  await sharp(pixels, { raw: { width: side, height: side, channels: 1 } }).png().toFile(path);
  return path;
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'flowdesk-restore-cli-'));
  images = await makeImageFolder({ count: 16, size: 8, channels: 1 });
  run = join(home, 'runs');
  const t = flowdesk('train', images.dir, '--size', '8', '--channels', '1', '--levels', '2', '--depth', '1', '--hidden', '8', '--batch', '8', '--steps', '4', '--eval-every', '4', '--out', run, '--name', 'tiny');
  expect(t.code, t.err).toBe(0);
}, 120_000);
afterAll(async () => {
  await images.cleanup();
  await rm(home, { recursive: true, force: true });
});

const FAST = ['--samples', '2', '--steps', '4'];

describe('flowdesk upscale and inpaint', () => {
  it('print their help', () => {
    for (const cmd of ['upscale', 'inpaint']) {
      const r = flowdesk(cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: flowdesk ${cmd}`));
      expect(r.out).toContain('--step-size X');
      expect(r.out).toContain('--runs DIR');
    }
    expect(flowdesk('inpaint', '--help').out).toMatch(/white mask pixels \(grey 128 and up\)\s+are the hole/);
  });

  it('upscale writes the candidates and their mean in a row and scores them against --original', async () => {
    const small = await greyPng('small.png', 4, (r, c) => 60 + 30 * r + 10 * c);
    const original = await greyPng('original.png', 8, (r, c) => 60 + 15 * r + 5 * c);
    const out = join(home, 'up.png');
    const r = flowdesk('upscale', join(run, 'tiny'), small, '--factor', '2', ...FAST, '--original', original, '-o', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/wrote 2 candidates and their mean \(last\) to .*up\.png \(4 Langevin steps, temperature 1, seed 0\)/);
    expect(r.out).toMatch(/candidate 1: PSNR [\d.]+ dB, SSIM -?[\d.]+/);
    expect(r.out).toMatch(/bicubic \(baseline\): PSNR/);
    expect(r.out).toMatch(/diversity: [\d.]+ grey levels/);
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([3 * 8 + 4 * 2, 8 + 2 * 2]);
  }, 60_000);

  it('inpaint fills the white part of the mask', async () => {
    const image = await greyPng('image.png', 8, (r, c) => 20 * r + c);
    const mask = await greyPng('mask.png', 8, (r, c) => (r >= 2 && r < 5 && c >= 3 ? 255 : 0));
    const r = flowdesk('inpaint', join(run, 'tiny'), image, '--mask', mask, ...FAST, '--original', image, '-o', join(home, 'in.png'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/mean colour \(baseline\): PSNR [\d.]+ dB/);
    expect(r.out).toMatch(/diffusion \(baseline\): PSNR [\d.]+ dB/);
  }, 60_000);

  it('refuses bad inputs with one clear line', async () => {
    const tiny = join(run, 'tiny');
    const eight = await greyPng('eight.png', 8, () => 100);
    const four = await greyPng('four.png', 4, () => 100);
    const blank = await greyPng('blank.png', 8, () => 0);
    const cases: [string[], RegExp][] = [
      [['upscale', tiny, eight, '--factor', '2', '-o', join(home, 'x.png')], /eight\.png is 8 x 8 pixels; an image this 8 x 8 model upscales 2 times must be 4 x 4/],
      [['upscale', tiny, join(home, 'missing.png'), '-o', join(home, 'x.png')], /missing\.png does not exist/],
      [['upscale', tiny, four, '--factor', '3', '-o', join(home, 'x.png')], /--factor must be 2 or 4, got 3/],
      [['upscale', tiny, four, '--step-size', '1', '-o', join(home, 'x.png')], /--step-size must be .*got 1/],
      [['upscale', tiny, four], /an output file is needed: -o out\.png/],
      [['inpaint', tiny, eight, '--mask', four, '-o', join(home, 'x.png')], /four\.png is 4 x 4 pixels; the mask \(the image's size\) must be 8 x 8/],
      [['inpaint', tiny, eight, '--mask', blank, '-o', join(home, 'x.png')], /blank\.png marks no pixel to fill: paint the hole white/],
      [['inpaint', tiny, eight, '-o', join(home, 'x.png')], /inpaint needs a run, an image and --mask FILE/],
    ];
    for (const [args, message] of cases) {
      const r = flowdesk(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  }, 120_000);
  it('samples a run trained for upscaling from its p(x | y), says so, and refuses another task naming restoreTask', async () => {
    const t = flowdesk('train', images.dir, '--size', '8', '--channels', '1', '--levels', '2', '--depth', '1', '--hidden', '8', '--batch', '8', '--steps', '2', '--eval-every', '2', '--restore-task', 'upscale-2', '--out', run, '--name', 'sr');
    expect(t.code, t.err).toBe(0);
    const small = await greyPng('small-sr.png', 4, (r, c) => 60 + 30 * r + 10 * c);
    const up = flowdesk('upscale', join(run, 'sr'), small, '--factor', '2', '--samples', '2', '-o', join(home, 'sr.png'));
    expect(up.code, up.err).toBe(0);
    expect(up.out).toMatch(/wrote 2 candidates .* \(sampled from the model's p\(x \| y\), trained for this task \(restoreTask upscale-2\), temperature 1, seed 0\)/);
    const eight = await greyPng('eight-sr.png', 8, () => 100);
    const mask = await greyPng('mask-sr.png', 8, (r) => (r < 4 ? 255 : 0));
    const refused = flowdesk('inpaint', join(run, 'sr'), eight, '--mask', mask, '-o', join(home, 'x.png'));
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/trained for upscaling x2 \(restoreTask upscale-2\), so it cannot do inpainting: use a run trained with restoreTask inpaint/);
  }, 120_000);
});
