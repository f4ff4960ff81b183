// Importing image folders: every format decodes, bad files are skipped with their reasons,
// folder errors are clear, the split is stable, and the cache is used and survives damage.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImageBuffer, dequantize, encodeImageGrid, importImageFolder, toPixels } from '../../main/engine/data/index.ts';
import { DataError } from '../../main/engine/errors.ts';
import { Rng } from '../../main/engine/random.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

async function folder(opts: Parameters<typeof makeImageFolder>[0]) {
  const f = await makeImageFolder(opts);
  cleanups.push(f.cleanup);
  return f;
}

describe('importImageFolder', () => {
  it('decodes JPEG, PNG, WebP, GIF, TIFF and AVIF, recursively', async () => {
    const f = await folder({ count: 12, size: 16, formats: ['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif'], nested: true });
    const { train, val, report } = await importImageFolder(f.dir, { size: 8, channels: 3, cacheDir: null });
    expect(report.skipped).toEqual([]);
    expect(report.used).toBe(12);
    expect(train.count + val.count).toBe(12);
    expect(train.pixels.length).toBe(train.count * 8 * 8 * 3);
    expect(val.count).toBeGreaterThanOrEqual(1);
  });

  it('skips each bad file with its path and a reason, and keeps the good ones', async () => {
    const f = await folder({ count: 6, bad: ['zero-byte', 'truncated', 'not-an-image', 'wrong-extension', 'huge', 'symlink-loop'] });
    const { report } = await importImageFolder(f.dir, { size: 8, channels: 1, cacheDir: null, maxInputPixels: 10_000_000 });
    expect(report.used).toBe(7); // six images plus the PNG named .jpg
    const reasons = Object.fromEntries(report.skipped.map((s) => [s.path, s.reason]));
    expect(reasons[f.bad['zero-byte']]).toMatch(/empty file/);
    expect(reasons[f.bad.truncated]).toMatch(/damaged or truncated/);
    expect(reasons[f.bad['not-an-image']]).toMatch(/not an image/);
    expect(reasons[f.bad.huge]).toMatch(/larger than the 10,000,000-pixel limit/);
    expect(report.skipped).toHaveLength(4);
  });

  it('reports an unreadable file by name (permission denied)', async () => {
    const f = await folder({ count: 3 });
    const locked = join(f.dir, 'locked.png');
    await writeFile(locked, await readFile(f.good[0]));
    const { chmod } = await import('node:fs/promises');
    await chmod(locked, 0o000);
    const { report } = await importImageFolder(f.dir, { size: 8, cacheDir: null });
    if (process.getuid?.() === 0) {
      // root reads any file: the permission case cannot be produced here, so the file is used.
      expect(report.used).toBe(4);
    } else {
      expect(report.skipped).toEqual([{ path: locked, reason: 'permission denied' }]);
    }
  });

  it('gives clear errors for a missing folder, a file, an empty folder and no usable image', async () => {
    await expect(importImageFolder('/no/such/folder')).rejects.toMatchObject({ code: 'NO_FOLDER', message: expect.stringContaining('/no/such/folder') });
    const f = await folder({ count: 1 });
    await expect(importImageFolder(f.good[0])).rejects.toMatchObject({ code: 'NOT_A_FOLDER' });
    const empty = await mkdtemp(join(tmpdir(), 'flowdesk-empty-'));
    cleanups.push(() => rm(empty, { recursive: true }));
    await expect(importImageFolder(empty, { cacheDir: null })).rejects.toMatchObject({ code: 'NO_IMAGES', message: expect.stringContaining('No files found') });
    const bad = await folder({ count: 0, bad: ['zero-byte', 'not-an-image'] });
    const err = await importImageFolder(bad.dir, { cacheDir: null }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.code).toBe('NO_IMAGES');
    expect(err.message).toMatch(/2 file\(s\) skipped/);
  });

  it('splits deterministically and keeps existing images on their side when files are added', async () => {
    const f = await folder({ count: 40, size: 8 });
    const a = await importImageFolder(f.dir, { size: 8, cacheDir: null, valFraction: 0.2 });
    const b = await importImageFolder(f.dir, { size: 8, cacheDir: null, valFraction: 0.2 });
    expect(b.val.paths).toEqual(a.val.paths);
    await writeFile(join(f.dir, 'extra.png'), await readFile(f.good[0]));
    const c = await importImageFolder(f.dir, { size: 8, cacheDir: null, valFraction: 0.2 });
    for (const p of a.val.paths) expect(c.val.paths).toContain(p);
    for (const p of a.train.paths) expect(c.train.paths).toContain(p);
  });

  it('uses the cache on a second import and rebuilds a damaged one', async () => {
    const f = await folder({ count: 10, size: 8 });
    const cacheDir = await mkdtemp(join(tmpdir(), 'flowdesk-cache-'));
    cleanups.push(() => rm(cacheDir, { recursive: true }));
    const first = await importImageFolder(f.dir, { size: 8, cacheDir });
    const second = await importImageFolder(f.dir, { size: 8, cacheDir });
    expect(first.report.fromCache).toBe(false);
    expect(second.report.fromCache).toBe(true);
    expect(second.train.pixels).toEqual(first.train.pixels);
    for (const name of await readdir(cacheDir)) if (name.endsWith('.pixels')) await writeFile(join(cacheDir, name), 'garbage');
    const third = await importImageFolder(f.dir, { size: 8, cacheDir });
    expect(third.report.fromCache).toBe(false);
    expect(third.train.pixels).toEqual(first.train.pixels);
  });
});

describe('decoding', () => {
  it('applies EXIF rotation', async () => {
    // 8 wide, 4 high: left half white, right half black; orientation 6 rotates it 90 degrees clockwise.
    const raw = new Uint8Array(8 * 4).map((_, i) => (i % 8 < 4 ? 255 : 0));
    const jpeg = await sharp(raw, { raw: { width: 8, height: 4, channels: 1 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
    const px = await decodeImageBuffer(jpeg, { size: 4, channels: 1 });
    // After rotation the image is 4 wide, 8 high with white on top; the centre crop keeps rows 2-5,
    // so the top half of the crop is white and the bottom half black.
    expect(px[0]).toBeGreaterThan(200);
    expect(px[15]).toBeLessThan(50);
  });

  it('centre-crops a wide image', async () => {
    // 12 x 4: black, white, black thirds; the centre square is the white middle.
    const raw = new Uint8Array(12 * 4).map((_, i) => (i % 12 >= 4 && i % 12 < 8 ? 255 : 0));
    const png = await sharp(raw, { raw: { width: 12, height: 4, channels: 1 } }).png().toBuffer();
    const px = await decodeImageBuffer(png, { size: 4, channels: 1 });
    expect(Math.min(...px)).toBeGreaterThan(200);
  });

  it('converts RGBA, 16-bit and CMYK to 8-bit sRGB or gray', async () => {
    const rgba = await sharp({ create: { width: 4, height: 4, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 1 } } }).png().toBuffer();
    expect(Array.from(await decodeImageBuffer(rgba, { size: 2, channels: 3 })).slice(0, 3)).toEqual([255, 0, 0]);
    const sixteen = await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 0, g: 0, b: 255 } } }).png().toColourspace('rgb16').toBuffer();
    const blue = await decodeImageBuffer(sixteen, { size: 2, channels: 3 });
    expect(blue[2]).toBeGreaterThan(250);
    expect(blue[0]).toBeLessThan(5);
    const cmyk = await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 0, g: 200, b: 0 } } }).jpeg().toColourspace('cmyk').toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const green = await decodeImageBuffer(cmyk, { size: 2, channels: 3 });
    expect(green[1]).toBeGreaterThan(green[0] + 40);
    expect(green[1]).toBeGreaterThan(green[2] + 40);
    const gray = await decodeImageBuffer(rgba, { size: 2, channels: 1 });
    expect(gray.length).toBe(4);
  });

  it('uses the first frame of an animated GIF', async () => {
    const frames = new Uint8Array(4 * 8 * 3).map((_, i) => (i < 4 * 4 * 3 ? 255 : 0)); // white frame then black
    const gif = await sharp(frames, { raw: { width: 4, height: 8, channels: 3, pageHeight: 4 } as never }).gif().toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const px = await decodeImageBuffer(gif, { size: 4, channels: 1 });
    expect(Math.min(...px)).toBeGreaterThan(200);
  });
});

describe('dequantization and grids', () => {
  it('follows the DESIGN.md formula and round-trips through toPixels', () => {
    const pixels = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (const n of [8, 5]) {
      const x = dequantize(pixels, n, new Rng(1));
      const bins = 2 ** n;
      for (let i = 0; i < 256; i++) {
        const low = Math.floor(i / 2 ** (8 - n)) / bins - 0.5;
        expect(x[i]).toBeGreaterThanOrEqual(low - 1e-7);
        expect(x[i]).toBeLessThan(low + 1 / bins + 1e-7);
      }
      const back = toPixels(x, n);
      for (let i = 0; i < 256; i++) {
        const bin = Math.floor(i / 2 ** (8 - n));
        expect(back[i]).toBe(n === 8 ? i : bin * 8 + 4);
      }
    }
  });

  it('lays out a grid PNG of the right size', async () => {
    const png = await encodeImageGrid(new Uint8Array(5 * 4 * 4 * 3).fill(128), 5, 4, 3, 3);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([3 * 4 + 4 * 2, 2 * 4 + 3 * 2]);
  });
});
