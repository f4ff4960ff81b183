// Classes from sub-folders (issue 17): each immediate sub-folder is a class and deeper folders
// belong to it; root images are refused or "unlabelled"; one class is refused; labels stay
// aligned through the split, the cache, pickImages and concatSets; the one-hot helper.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { concatSets, gatherOneHot, importImageFolder, NO_CLASS, oneHot, pickImages, type ImageSet, type ImportOptions } from '../../main/engine/data/index.ts';
import { DataError } from '../../main/engine/errors.ts';
import { defaultImageFolder } from '../../main/engine/resources.ts';
import { ModelCache } from '../../main/worker/model-cache.ts';
import { EngineService } from '../../main/worker/service.ts';
import { encodeImage } from '../helpers/image-folder.ts';

const SIZE = 8;
const cleanups: string[] = [];
afterAll(async () => {
  for (const dir of cleanups) await rm(dir, { recursive: true, force: true });
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(dir);
  return dir;
}

/** The gray level every image of a class folder is written with, so a pixel names its class. */
function levelOf(classFolder: string): number {
  return 20 + 40 * (classFolder.charCodeAt(0) % 6);
}

/**
 * A folder with `files` (relative paths, '/' separators) written as plain gray PNGs: an image in
 * a sub-folder takes its top folder's level, one in the root level 250.
 */
async function classFolder(files: readonly string[]): Promise<string> {
  const dir = await tempDir('flowdesk-classes-');
  for (const rel of files) {
    const path = join(dir, ...rel.split('/'));
    await mkdir(dirname(path), { recursive: true });
    const top = rel.includes('/') ? rel.split('/')[0] : null;
    await writeFile(path, await encodeImage(new Uint8Array(SIZE * SIZE).fill(top === null ? 250 : levelOf(top)), SIZE, 1, 'png'));
  }
  return dir;
}

const gray = (classes: ImportOptions['classes'], extra: ImportOptions = {}): ImportOptions => ({ size: SIZE, channels: 1, cacheDir: null, classes, ...extra });

/** The top folder of a set's image, from its path, or null for a root image. */
function topFolder(folder: string, path: string): string | null {
  const parts = relative(folder, path).split(sep);
  return parts.length > 1 ? parts[0] : null;
}

function expectAligned(folder: string, set: ImageSet, unlabelled = 'unlabelled'): void {
  expect(set.labels).not.toBeNull();
  expect(set.labels!.length).toBe(set.count);
  set.paths.forEach((path, i) => {
    const top = topFolder(folder, path);
    expect(set.classes[set.labels![i]], path).toBe(top ?? unlabelled);
    expect(set.pixels[i * SIZE * SIZE], path).toBe(top === null ? 250 : levelOf(top));
  });
}

const THREE_CLASSES = ['ant/a1.png', 'ant/a2.png', 'ant/a3.png', 'bee/b1.png', 'bee/deep/er/b2.png', 'bee/deep/b3.png', 'cat/c1.png', 'cat/c2.png', 'cat/c3.png', 'cat/c4.png'];

describe('classes from sub-folders', () => {
  it('labels each image with its immediate sub-folder, sorted by name, nested folders with their top one', async () => {
    const dir = await classFolder(THREE_CLASSES);
    const { train, val, report } = await importImageFolder(dir, gray('folders', { valFraction: 0.3 }));
    expect(train.classes).toEqual(['ant', 'bee', 'cat']);
    expect(val.classes).toEqual(['ant', 'bee', 'cat']);
    expectAligned(dir, train);
    expectAligned(dir, val);
    // The nested images are bees.
    const all = concatSets(train, val);
    const nested = all.paths.map((p, i) => [p, i] as const).filter(([p]) => p.includes(`${sep}deep${sep}`));
    expect(nested).toHaveLength(2);
    for (const [, i] of nested) expect(all.classes[all.labels![i]]).toBe('bee');
    expect(report.classMode).toBe('folders');
    expect(report.classes).toEqual([
      { name: 'ant', train: train.labels!.filter((l) => l === 0).length, val: val.labels!.filter((l) => l === 0).length },
      { name: 'bee', train: train.labels!.filter((l) => l === 1).length, val: val.labels!.filter((l) => l === 1).length },
      { name: 'cat', train: train.labels!.filter((l) => l === 2).length, val: val.labels!.filter((l) => l === 2).length },
    ]);
    expect(report.classes.map((c) => c.train + c.val)).toEqual([3, 3, 4]);
    expect(val.count).toBeGreaterThanOrEqual(1);
  });

  it("keeps 'none' as before: no labels, no classes, the listing's fingerprint", async () => {
    const dir = await classFolder(THREE_CLASSES);
    const plain = await importImageFolder(dir, { size: SIZE, channels: 1, cacheDir: null });
    const none = await importImageFolder(dir, gray('none'));
    const folders = await importImageFolder(dir, gray('folders'));
    for (const set of [plain.train, plain.val, none.train, none.val]) {
      expect(set.labels).toBeNull();
      expect(set.classes).toEqual([]);
    }
    expect(plain.report).toMatchObject({ classMode: 'none', classes: [] });
    expect(none.report.fingerprint).toBe(plain.report.fingerprint);
    expect(folders.report.fingerprint).not.toBe(plain.report.fingerprint);
    // The same images either way, in the same order.
    expect(folders.train.paths).toEqual(plain.train.paths);
    expect(Buffer.from(folders.train.pixels).equals(Buffer.from(plain.train.pixels))).toBe(true);
  });

  it("refuses root images with 'folders', naming how many, a few of them, and what to do", async () => {
    const dir = await classFolder([...THREE_CLASSES, 'r1.png', 'r2.png', 'r3.png', 'r4.png', 'r5.png']);
    const err = await importImageFolder(dir, gray('folders')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err).toMatchObject({ code: 'BAD_CLASSES' });
    const message = (err as DataError).message;
    expect(message).toContain(`${dir} holds 5 image(s) directly in it (r1.png, r2.png, r3.png and 2 more)`);
    expect(message).toMatch(/Move them into a sub-folder/);
    expect(message).toMatch(/folders-unlabelled/);
  });

  it('refuses a root image known only by its content (no image extension), and leaves other root files alone', async () => {
    const dir = await classFolder(THREE_CLASSES);
    await writeFile(join(dir, 'README.txt'), 'three classes of insects and a cat\n');
    expect((await importImageFolder(dir, gray('folders'))).report.ignored).toBe(1);
    await writeFile(join(dir, 'scan-0001'), await encodeImage(new Uint8Array(SIZE * SIZE).fill(250), SIZE, 1, 'png'));
    await expect(importImageFolder(dir, gray('folders'))).rejects.toMatchObject({ code: 'BAD_CLASSES', message: expect.stringContaining('holds 1 image(s) directly in it (scan-0001)') });
  });

  it("labels root images \"unlabelled\" with 'folders-unlabelled'", async () => {
    const dir = await classFolder(['zebra/z1.png', 'zebra/z2.png', 'ant/a1.png', 'r1.png', 'r2.png']);
    const { train, val, report } = await importImageFolder(dir, gray('folders-unlabelled', { valFraction: 0.3 }));
    expect(train.classes).toEqual(['ant', 'unlabelled', 'zebra']);
    expectAligned(dir, train);
    expectAligned(dir, val);
    expect(report.classes.map((c) => [c.name, c.train + c.val])).toEqual([['ant', 1], ['unlabelled', 2], ['zebra', 2]]);
  });

  it('refuses a single class, naming the folder', async () => {
    const one = await classFolder(['only/a.png', 'only/deeper/b.png']);
    await expect(importImageFolder(one, gray('folders'))).rejects.toMatchObject({
      code: 'BAD_CLASSES',
      message: expect.stringContaining(`${one} has only one class (only)`),
    });
    const flat = await classFolder(['a.png', 'b.png']);
    await expect(importImageFolder(flat, gray('folders-unlabelled'))).rejects.toMatchObject({
      code: 'BAD_CLASSES',
      message: expect.stringContaining(`${flat} has only one class (unlabelled)`),
    });
    // 'none' imports both as ever.
    expect((await importImageFolder(flat, gray('none'))).report.used).toBe(2);
  });

  it('refuses an unknown class mode', async () => {
    const dir = await classFolder(THREE_CLASSES);
    await expect(importImageFolder(dir, gray('subfolders' as never))).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringContaining('one of none, folders, folders-unlabelled') });
  });

  it('gives the same labels from the cache, which every class mode shares', async () => {
    const dir = await classFolder(THREE_CLASSES);
    const cacheDir = await tempDir('flowdesk-classes-cache-');
    const first = await importImageFolder(dir, gray('folders', { cacheDir }));
    const again = await importImageFolder(dir, gray('folders', { cacheDir }));
    expect([first.report.fromCache, again.report.fromCache]).toEqual([false, true]);
    expect(again.report.fingerprint).toBe(first.report.fingerprint);
    expect(again.report.classes).toEqual(first.report.classes);
    for (const side of ['train', 'val'] as const) {
      expect(again[side].classes).toEqual(first[side].classes);
      expect(Array.from(again[side].labels!)).toEqual(Array.from(first[side].labels!));
      expect(again[side].paths).toEqual(first[side].paths);
      expectAligned(dir, again[side]);
    }
    // Decoded pixels do not depend on the mode: an unlabelled import of the folder hits the same cache.
    const none = await importImageFolder(dir, gray('none', { cacheDir }));
    expect(none.report.fromCache).toBe(true);
    expect(none.train.labels).toBeNull();
  });

  it('imports the bundled digits as ten classes', async () => {
    const { train, val, report } = await importImageFolder(defaultImageFolder(), { size: 16, channels: 1, classes: 'folders' });
    expect(train.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(report.classes.map((c) => c.train + c.val)).toEqual(new Array(10).fill(300));
    expect(report.classes.every((c) => c.val > 0)).toBe(true);
    for (const set of [train, val]) set.paths.forEach((p, i) => expect(set.classes[set.labels![i]]).toBe(topFolder(defaultImageFolder(), p)));
  });
});

/** A labelled set whose image i has every pixel i and label labels[i]. */
function numbered(labels: number[], classes: string[]): ImageSet {
  const per = 2 * 2;
  return {
    size: 2, channels: 1, count: labels.length,
    pixels: Uint8Array.from({ length: labels.length * per }, (_, j) => Math.floor(j / per)),
    paths: labels.map((_, i) => `img${i}`), labels: Int32Array.from(labels), classes,
  };
}

describe('labels stay with their images', () => {
  it('pickImages and concatSets carry the labels with the pixels and paths', () => {
    const a = numbered([0, 1, 2, 1], ['x', 'y', 'z']);
    const picked = pickImages(a, [3, 0, 2]);
    expect(Array.from(picked.labels!)).toEqual([1, 0, 2]);
    expect(picked.paths).toEqual(['img3', 'img0', 'img2']);
    expect([picked.pixels[0], picked.pixels[4], picked.pixels[8]]).toEqual([3, 0, 2]);
    const joined = concatSets(a, picked);
    expect(Array.from(joined.labels!)).toEqual([0, 1, 2, 1, 1, 0, 2]);
    expect(joined.classes).toEqual(['x', 'y', 'z']);
    const unlabelled: ImageSet = { ...a, labels: null, classes: [] };
    expect(concatSets(unlabelled, unlabelled).labels).toBeNull();
    expect(() => concatSets(a, unlabelled)).toThrow(/cannot be joined/);
    expect(() => concatSets(a, { ...a, classes: ['x', 'y', 'w'] })).toThrow(/cannot be joined/);
  });
});

describe('one-hot classes', () => {
  it('writes one row of K per id, an all-zero row for NO_CLASS', () => {
    expect(Array.from(oneHot([2, 0, NO_CLASS, 1], 3))).toEqual([0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0]);
    const out = new Float32Array(8).fill(7);
    expect(oneHot([1], 2, out)).toBe(out);
    expect(Array.from(out)).toEqual([0, 1, 7, 7, 7, 7, 7, 7]);
    expect(() => oneHot([3], 3)).toThrow(/class 3 is outside 3 classes/);
    expect(() => oneHot([0.5], 3)).toThrow(/outside/);
    expect(() => oneHot([0, 1], 2, new Float32Array(3))).toThrow(/out holds 3 values, 4 needed/);
  });

  it('gives the one-hot classes of a batch of a set, in the order of its indices', () => {
    const set = numbered([0, 2, 1, 2], ['x', 'y', 'z']);
    const rows = gatherOneHot(set, [3, 0, 2]);
    expect(rows).toBeInstanceOf(Float32Array);
    expect(Array.from(rows)).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
    expect(() => gatherOneHot(set, [4])).toThrow(/index 4 is outside a set of 4 images/);
    expect(() => gatherOneHot({ ...set, labels: null, classes: [] }, [0])).toThrow(/unlabelled/);
  });
});

describe("the import summary's classes", () => {
  it('lists each class with its counts and a strip of up to 8 of its own images, the same on every import', async () => {
    const files = [...Array.from({ length: 12 }, (_, i) => `ant/a${i}.png`), 'bee/b0.png', 'bee/b1.png', ...Array.from({ length: 9 }, (_, i) => `cat/c${i}.png`)];
    const dir = await classFolder(files);
    const service = new EngineService(await tempDir('flowdesk-classes-runs-'), () => undefined, new ModelCache(), [realpathSync(tmpdir())]);
    const request = { folder: dir, size: SIZE, channels: 1 as const, classes: 'folders' as const };
    const summary = await service.importFolder(request);
    expect(summary.classes.map(({ name, train, val }) => ({ name, images: train + val }))).toEqual([
      { name: 'ant', images: 12 }, { name: 'bee', images: 2 }, { name: 'cat', images: 9 },
    ]);
    for (const c of summary.classes) {
      const { data, info } = await sharp(Buffer.from(c.strip.split(',')[1], 'base64')).greyscale().raw().toBuffer({ resolveWithObject: true });
      const tiles = Math.round((info.width - 2) / (SIZE + 2));
      expect(tiles, c.name).toBe(Math.min(8, c.train > 0 ? c.train : c.val));
      // Every tile is an image of this class: its centre pixel has the class's level.
      for (let t = 0; t < tiles; t++) expect(data[(2 + SIZE / 2) * info.width + 2 + t * (SIZE + 2) + SIZE / 2], `${c.name} tile ${t}`).toBe(levelOf(c.name));
    }
    expect((await service.importFolder(request)).classes).toEqual(summary.classes);
    expect((await service.importFolder({ ...request, classes: 'none' })).classes).toEqual([]);
  });
});
