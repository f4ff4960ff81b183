// Importing image folders: every format, recursively; bad files skipped with their reasons;
// other files ignored; clear folder errors; progress and cancelling; a stable split; the cache.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importImageFolder, type ImportOptions } from '../../main/engine/data/index.ts';
import { DataError } from '../../main/engine/errors.ts';
import type { Progress } from '../../main/engine/progress.ts';
import { Rng } from '../../main/engine/random.ts';
import { encodeImage, makeImageFolder, patternPixels, type ImageFolderOptions } from '../helpers/image-folder.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

async function folder(opts: ImageFolderOptions) {
  const f = await makeImageFolder(opts);
  cleanups.push(f.cleanup);
  return f;
}

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const noCache: ImportOptions = { cacheDir: null };

describe('importImageFolder: what gets used', () => {
  it('decodes JPEG, PNG, WebP, GIF, TIFF and AVIF in nested folders, in path order', async () => {
    const f = await folder({ count: 12, size: 16, formats: ['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif'], nested: true });
    const { train, val, report } = await importImageFolder(f.dir, { ...noCache, size: 8, channels: 3 });
    expect(report).toMatchObject({ folder: f.dir, found: 12, ignored: 0, used: 12, skipped: [], fromCache: false });
    expect(train.count + val.count).toBe(12);
    expect([train.count, val.count]).toEqual([report.train, report.val]);
    expect(val.count).toBeGreaterThanOrEqual(1);
    expect(train.pixels.length).toBe(train.count * 8 * 8 * 3);
    expect(val.pixels.length).toBe(val.count * 8 * 8 * 3);
    expect([...train.paths, ...val.paths].sort()).toEqual([...f.good].sort());
    expect(train.paths).toEqual([...train.paths].sort());
    expect(f.good.some((p) => p.includes(join('sub', 'deeper')))).toBe(true);
  });

  it('puts each image where its path says, with the pixels of that file', async () => {
    const f = await folder({ count: 6, size: 8, channels: 1, pattern: 'noise', seed: 3 });
    const { train, val } = await importImageFolder(f.dir, { ...noCache, size: 8, channels: 1, valFraction: 0.3 });
    const rng = new Rng(3);
    const written = f.good.map(() => patternPixels(8, 1, 'noise', rng));
    for (const set of [train, val]) {
      set.paths.forEach((p, i) => {
        expect(Array.from(set.pixels.subarray(i * 64, (i + 1) * 64))).toEqual(Array.from(written[f.good.indexOf(p)]));
      });
    }
  });

  it('gives the pixels earlier imports gave and caches hold (PNG noise, joined and shrunk by sharp)', async () => {
    // Hashes from the import of commit e680bc1. A change here changes what a folder decodes to:
    // bump CACHE_VERSION in image-cache.ts with it. PNG, so no JPEG decoder's version enters.
    const hashes: Record<string, string> = {
      '48 to 32x3': 'b53a78e25799257e',
      '48 to 16x1': 'f516b7a5e1a3562a',
      '100 to 32x3': 'af452083ae4dba51',
      '100 to 16x1': '92ae42d896821b39',
    };
    for (const [side, count] of [[48, 40], [100, 12]]) {
      const f = await folder({ count, size: side, pattern: 'noise', seed: 7 });
      for (const [size, channels] of [[32, 3], [16, 1]] as const) {
        const { train, val } = await importImageFolder(f.dir, { ...noCache, size, channels });
        const hash = createHash('sha256').update(train.pixels).update(val.pixels).digest('hex').slice(0, 16);
        expect(hash, `${side} to ${size}x${channels}`).toBe(hashes[`${side} to ${size}x${channels}`]);
      }
    }
  });

  it('skips each bad file with its path and a reason, and keeps the good ones', async () => {
    const f = await folder({ count: 6, bad: ['zero-byte', 'truncated', 'not-an-image', 'wrong-extension', 'huge', 'symlink-loop'] });
    const { train, val, report } = await importImageFolder(f.dir, { ...noCache, size: 8, channels: 1, maxInputPixels: 10_000_000 });
    expect(report.used).toBe(7); // six images and the PNG named .jpg
    expect([...train.paths, ...val.paths].sort()).toEqual([...f.good].sort());
    const reasons = Object.fromEntries(report.skipped.map((s) => [s.path, s.reason]));
    expect(reasons).toEqual({
      [f.bad['zero-byte']]: 'empty file (0 bytes)',
      [f.bad.truncated]: expect.stringMatching(/^damaged or truncated PNG file/),
      [f.bad['not-an-image']]: expect.stringMatching(/^not an image/),
      [f.bad.huge]: 'image is too large (30000 x 30000 pixels, over the 10,000,000-pixel limit)',
      [f.bad['symlink-loop']]: 'symbolic link loops back on itself',
    });
    expect(report.skipped.map((s) => s.path)).toEqual(Object.keys(reasons).sort());
    expect(report.found).toBe(11);
  });

  it('uses images by content whatever their names, and ignores files that are not images', async () => {
    const dir = await tempDir('flowdesk-names-');
    const png = await encodeImage(patternPixels(8, 3, 'stripes', new Rng(1)), 8, 3, 'png');
    await writeFile(join(dir, 'no-extension'), png);
    await writeFile(join(dir, 'photo.JPG'), await encodeImage(patternPixels(8, 3, 'blobs', new Rng(2)), 8, 3, 'jpeg'));
    await writeFile(join(dir, 'captions.txt'), 'a cat\n');
    await writeFile(join(dir, 'notes'), '');
    await writeFile(join(dir, '.DS_Store'), png);
    await mkdir(join(dir, '.thumbnails'));
    await writeFile(join(dir, '.thumbnails', 'a.png'), png);
    await mkdir(join(dir, '__MACOSX'));
    await writeFile(join(dir, '__MACOSX', 'b.png'), png);
    const { train, val, report } = await importImageFolder(dir, { ...noCache, size: 8 });
    expect([...train.paths, ...val.paths].sort()).toEqual([join(dir, 'no-extension'), join(dir, 'photo.JPG')]);
    expect(report).toMatchObject({ found: 2, ignored: 2, used: 2, skipped: [] });
  });

  it('follows links to folders and files, and does not hang on a folder linking to itself', async () => {
    const outside = await folder({ count: 3, size: 8, seed: 1 });
    const f = await folder({ count: 2, size: 8, bad: ['symlink-loop'] });
    await symlink(outside.dir, join(f.dir, 'linked'));
    await symlink(f.good[0], join(f.dir, 'alias.png'));
    await symlink(join(f.dir, 'missing.png'), join(f.dir, 'dangling.png'));
    const { train, val, report } = await importImageFolder(f.dir, { ...noCache, size: 8 });
    const paths = [...train.paths, ...val.paths].sort();
    expect(paths).toEqual([join(f.dir, 'alias.png'), ...f.good, ...outside.good.map((p) => p.replace(outside.dir, join(f.dir, 'linked')))].sort());
    expect(report.skipped).toEqual([
      { path: f.bad['symlink-loop'], reason: 'symbolic link loops back on itself' },
      { path: join(f.dir, 'dangling.png'), reason: 'broken symbolic link (its target is missing)' },
    ].sort((a, b) => (a.path < b.path ? -1 : 1)));
  });
});

describe('importImageFolder: folder errors', () => {
  it('says when the folder is missing or is a file', async () => {
    const missing = join(tmpdir(), 'flowdesk-no-such-folder', 'photos');
    const err = await importImageFolder(missing, noCache).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err).toMatchObject({ code: 'NO_FOLDER', message: `Folder ${missing} does not exist; choose an existing folder of images.` });
    const f = await folder({ count: 1 });
    await expect(importImageFolder(f.good[0], noCache)).rejects.toMatchObject({ code: 'NOT_A_FOLDER', message: expect.stringContaining(f.good[0]) });
    await expect(importImageFolder(join(f.good[0], 'below'), noCache)).rejects.toMatchObject({ code: 'NO_FOLDER' });
    await expect(importImageFolder('', noCache)).rejects.toMatchObject({ code: 'NO_FOLDER' });
  });

  it('says when a folder is empty, holds no images, or no usable one', async () => {
    const empty = await tempDir('flowdesk-empty-');
    await expect(importImageFolder(empty, noCache)).rejects.toMatchObject({ code: 'NO_IMAGES', message: expect.stringMatching(new RegExp(`^No images in ${empty}: it holds no files`)) });
    const text = await tempDir('flowdesk-text-');
    await writeFile(join(text, 'readme.md'), '# hi\n');
    await expect(importImageFolder(text, noCache)).rejects.toMatchObject({ code: 'NO_IMAGES', message: expect.stringContaining('its 1 file(s) are not images') });
    const bad = await folder({ count: 0, bad: ['zero-byte', 'not-an-image', 'truncated', 'huge'] });
    const err = await importImageFolder(bad.dir, noCache).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.code).toBe('NO_IMAGES');
    expect(err.message).toContain(`No usable images in ${bad.dir}: 4 file(s) skipped (`);
    expect(err.message).toContain('(bad-huge.png: image is too large (30000 x 30000 pixels, over the 64,000,000-pixel limit); bad-not-an-image.jpg: not an image');
    expect(err.message).toContain('and 1 more');
  });

  it('refuses settings out of range, naming them', async () => {
    const f = await folder({ count: 1 });
    for (const [opts, field] of [[{ size: 0 }, 'size'], [{ size: 2.5 }, 'size'], [{ channels: 2 }, 'channels'], [{ valFraction: 1 }, 'Validation fraction'], [{ valFraction: Number.NaN }, 'Validation fraction'], [{ maxInputPixels: 0 }, 'maxInputPixels']] as const) {
      await expect(importImageFolder(f.dir, { ...noCache, ...(opts as ImportOptions) })).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringContaining(field) });
    }
  });
});

describe('importImageFolder: progress and cancelling', () => {
  it('reports scanning (total unknown) and decoding up to done = total', async () => {
    const f = await folder({ count: 5, size: 8 });
    const events: Progress[] = [];
    await importImageFolder(f.dir, { ...noCache, size: 8, onProgress: (p) => events.push(p) });
    const scanning = events.filter((e) => e.message.startsWith('Looking for images'));
    const decoding = events.filter((e) => e.message === 'Decoding images');
    expect(scanning.length).toBeGreaterThan(0);
    expect(scanning.every((e) => e.total === 0 && e.eta === null)).toBe(true);
    expect(decoding.at(-1)).toMatchObject({ done: 5, total: 5, eta: 0 });
    expect(decoding.every((e) => e.rate > 0)).toBe(true);
  });

  it('stops with CANCELLED when the signal fires, before or during decoding', async () => {
    const f = await folder({ count: 30, size: 8 });
    await expect(importImageFolder(f.dir, { ...noCache, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'CANCELLED' });
    const controller = new AbortController();
    let decodedWhenCancelled = -1;
    const err = await importImageFolder(f.dir, {
      ...noCache,
      size: 8,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.message === 'Decoding images' && !controller.signal.aborted) {
          decodedWhenCancelled = p.done;
          controller.abort();
        }
      },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.code).toBe('CANCELLED');
    expect(decodedWhenCancelled).toBeLessThan(30);
  });
});

describe('importImageFolder: split', () => {
  it('is the same every time and keeps existing images on their side when files are added', async () => {
    const f = await folder({ count: 40, size: 8 });
    const opts = { ...noCache, size: 8, valFraction: 0.2 };
    const a = await importImageFolder(f.dir, opts);
    const b = await importImageFolder(f.dir, opts);
    expect(b.val.paths).toEqual(a.val.paths);
    expect(b.train.pixels).toEqual(a.train.pixels);
    expect(a.val.count).toBeGreaterThan(0);
    expect(a.train.count).toBeGreaterThan(a.val.count);
    const png = await encodeImage(patternPixels(8, 3, 'stripes', new Rng(9)), 8, 3, 'png');
    for (let i = 0; i < 20; i++) await writeFile(join(f.dir, `added-${i}.png`), png);
    const c = await importImageFolder(f.dir, opts);
    expect(c.report.used).toBe(60);
    expect(c.val.paths.filter((p) => !p.includes('added-'))).toEqual(a.val.paths);
    expect(c.train.paths.filter((p) => !p.includes('added-'))).toEqual(a.train.paths);
  });

  it('holds out at least one image of two, and none when the fraction is 0', async () => {
    const f = await folder({ count: 2, size: 8 });
    const some = await importImageFolder(f.dir, { ...noCache, size: 8, valFraction: 0.01 });
    expect([some.train.count, some.val.count]).toEqual([1, 1]);
    const none = await importImageFolder(f.dir, { ...noCache, size: 8, valFraction: 0 });
    expect([none.train.count, none.val.count]).toEqual([2, 0]);
    expect(none.val.pixels.length).toBe(0);
  });
});

describe('importImageFolder: cache', () => {
  it('reads the cache on a second import and rebuilds a damaged one', async () => {
    const f = await folder({ count: 10, size: 8, bad: ['zero-byte'] });
    const cacheDir = await tempDir('flowdesk-cache-');
    const first = await importImageFolder(f.dir, { size: 8, cacheDir });
    const files = (await readdir(cacheDir)).sort();
    expect(files).toHaveLength(2);
    expect(files[0].endsWith('.json') && files[1].endsWith('.pixels')).toBe(true);
    const [index, pixels] = files.map((n) => join(cacheDir, n));

    const second = await importImageFolder(f.dir, { size: 8, cacheDir });
    expect(first.report.fromCache).toBe(false);
    expect(second.report.fromCache).toBe(true);
    expect(second.train).toEqual(first.train);
    expect(second.val).toEqual(first.val);
    expect({ ...second.report, fromCache: false, seconds: 0 }).toEqual({ ...first.report, seconds: 0 });

    const damage = [
      () => writeFile(pixels, Buffer.alloc(first.report.used * 8 * 8 * 3, 7)), // right length, wrong bytes
      () => truncate(pixels, 100),
      () => writeFile(index, '{"format": "flowdesk-image-ca'),
      () => rm(pixels),
      () => writeFile(index, JSON.stringify({ format: 'flowdesk-image-cache', version: 2 })),
    ];
    for (const spoil of damage) {
      await spoil();
      const rebuilt = await importImageFolder(f.dir, { size: 8, cacheDir });
      expect(rebuilt.report.fromCache).toBe(false);
      expect(rebuilt.train).toEqual(first.train);
      expect(rebuilt.report.skipped).toEqual(first.report.skipped);
      expect((await importImageFolder(f.dir, { size: 8, cacheDir })).report.fromCache).toBe(true);
    }
    expect(JSON.parse(await readFile(index, 'utf8'))).toMatchObject({ fingerprint: first.report.fingerprint, rels: expect.any(Array) });
  });

  it('misses when a file or a setting changes, and replaces the stale entry', async () => {
    const f = await folder({ count: 6, size: 8 });
    const cacheDir = await tempDir('flowdesk-cache-');
    const first = await importImageFolder(f.dir, { size: 8, cacheDir });
    await utimes(f.good[0], new Date(), new Date(Date.now() + 5000));
    const touched = await importImageFolder(f.dir, { size: 8, cacheDir });
    expect(touched.report.fromCache).toBe(false);
    expect(touched.report.fingerprint).not.toBe(first.report.fingerprint);
    expect(await readdir(cacheDir)).toHaveLength(2);
    for (const other of [{ size: 4 }, { size: 8, channels: 1 as const }, { size: 8, maxInputPixels: 1000 }]) {
      expect((await importImageFolder(f.dir, { ...other, cacheDir })).report.fromCache).toBe(false);
      expect((await importImageFolder(f.dir, { ...other, cacheDir })).report.fromCache).toBe(true);
    }
    expect(await readdir(cacheDir)).toHaveLength(8);
  });

  it('uses $FLOWDESK_CACHE by default and writes nothing with cacheDir null', async () => {
    const f = await folder({ count: 3, size: 8 });
    const cacheDir = await tempDir('flowdesk-env-cache-');
    const saved = process.env.FLOWDESK_CACHE;
    process.env.FLOWDESK_CACHE = cacheDir;
    try {
      await importImageFolder(f.dir, { size: 8, cacheDir: null });
      expect(await readdir(cacheDir)).toEqual([]);
      await importImageFolder(f.dir, { size: 8 });
      expect(await readdir(cacheDir)).toHaveLength(2);
      expect((await importImageFolder(f.dir, { size: 8 })).report.fromCache).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.FLOWDESK_CACHE;
      else process.env.FLOWDESK_CACHE = saved;
    }
  });
});
