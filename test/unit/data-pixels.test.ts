// Pixels in and out of model space (dequantization and its display inverse), batches, image
// grids, and the hash split on its own.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { concatSets, dequantize, encodeImageGrid, gatherBatch, imagesOutOfRange, toPixels, writeImageGrid, type ImageSet } from '../../main/engine/data/index.ts';
import { splitIndices } from '../../main/engine/data/split.ts';
import { Rng } from '../../main/engine/random.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const allPixels = Uint8Array.from({ length: 256 }, (_, i) => i);

describe('dequantize', () => {
  for (const n of [8, 5, 3, 1]) {
    it(`puts every pixel in its ${n}-bit bin, offset by noise in [0, 1/2^${n})`, () => {
      const bins = 2 ** n;
      const pixels = new Uint8Array(256 * 40).map((_, i) => i % 256);
      const x = dequantize(pixels, n, new Rng(n));
      let lowest = Infinity;
      let highest = -Infinity;
      for (let i = 0; i < pixels.length; i++) {
        const low = Math.floor(pixels[i] / 2 ** (8 - n)) / bins - 0.5;
        const noise = (x[i] - low) * bins; // in units of one bin
        expect(noise).toBeGreaterThanOrEqual(0);
        expect(noise).toBeLessThan(1);
        lowest = Math.min(lowest, noise);
        highest = Math.max(highest, noise);
      }
      // The noise fills the bin rather than sitting at one point.
      expect(lowest).toBeLessThan(0.01);
      expect(highest).toBeGreaterThan(0.99);
    });
  }

  it('draws its noise from the Rng: same seed, same values; into `out` when given', () => {
    const a = dequantize(allPixels, 5, new Rng(3));
    const b = dequantize(allPixels, 5, new Rng(3));
    const c = dequantize(allPixels, 5, new Rng(4));
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    // Exactly the formula with the Rng's uniforms as U.
    const rng = new Rng(3);
    for (let i = 0; i < 256; i++) expect(a[i]).toBeCloseTo(Math.floor(i / 8) / 32 - 0.5 + rng.next() / 32, 6);
    const out = new Float32Array(256);
    expect(dequantize(allPixels, 5, new Rng(3), out)).toBe(out);
    expect(out).toEqual(a);
  });

  it('keeps noise that rounds up to the bin top inside the bin', () => {
    // A uniform just under 1 makes (bin + u) / 2^n - 1/2 round to the next bin in float32.
    const almostOne = { next: () => 1 - 2 ** -40 } as unknown as Rng;
    const x = dequantize(allPixels, 8, almostOne);
    expect(Array.from(toPixels(x, 8))).toEqual(Array.from(allPixels));
    for (let i = 0; i < 256; i++) expect(x[i]).toBeLessThan((i + 1) / 256 - 0.5);
  });

  it('refuses bit depths outside 1..8 and a short output', () => {
    expect(() => dequantize(allPixels, 0, new Rng(1))).toThrow(RangeError);
    expect(() => dequantize(allPixels, 9, new Rng(1))).toThrow(RangeError);
    expect(() => dequantize(allPixels, 8, new Rng(1), new Float32Array(10))).toThrow(/out holds 10/);
  });
});

describe('toPixels', () => {
  it('round-trips every 8-bit value through dequantize', () => {
    for (let seed = 0; seed < 5; seed++) expect(Array.from(toPixels(dequantize(allPixels, 8, new Rng(seed)), 8))).toEqual(Array.from(allPixels));
  });

  it('gives the centre of each 5-bit bin', () => {
    const back = toPixels(dequantize(allPixels, 5, new Rng(1)), 5);
    for (let p = 0; p < 256; p++) expect(back[p]).toBe(Math.floor(p / 8) * 8 + 4);
  });

  it('clamps values outside [-0.5, 0.5) and maps NaN to 0', () => {
    expect(Array.from(toPixels([-3, -0.5, 0.4999, 0.5, 7, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN], 8))).toEqual([0, 0, 255, 255, 255, 255, 0, 0]);
    expect(Array.from(toPixels(new Float32Array([-1, 0, 1]), 1))).toEqual([64, 192, 192]);
  });

  it('has its clipped images counted: any value beyond [-0.5, 0.5] or not a number', () => {
    // Four images of two values: inside (both ends included), one value above, one below, NaN.
    const images = [-0.5, 0.5, 0.1, 0.5001, -7, 0, Number.NaN, 0];
    expect(imagesOutOfRange(images, 4)).toBe(3);
    expect(imagesOutOfRange(new Float32Array(8), 4)).toBe(0);
    expect(imagesOutOfRange(new Float32Array([5e5, 1, 2, 3]), 1)).toBe(1);
  });
});

function numberedSet(count: number, size: number, channels: 1 | 3): ImageSet {
  const per = size * size * channels;
  return { size, channels, count, pixels: new Uint8Array(count * per).map((_, i) => Math.floor(i / per) * 10), paths: Array.from({ length: count }, (_, i) => `img${i}`), labels: null, classes: [] };
}

describe('batches', () => {
  it('gathers the chosen images in order, into `out` when given', () => {
    const set = numberedSet(5, 2, 3);
    const batch = gatherBatch(set, [3, 0, 3]);
    expect(Array.from(batch)).toEqual([...Array(12).fill(30), ...Array(12).fill(0), ...Array(12).fill(30)]);
    const out = new Uint8Array(24);
    expect(gatherBatch(set, Int32Array.from([4, 1]), out)).toBe(out);
    expect(Array.from(out)).toEqual([...Array(12).fill(40), ...Array(12).fill(10)]);
    expect(() => gatherBatch(set, [5])).toThrow(RangeError);
    expect(() => gatherBatch(set, [0, 1], new Uint8Array(12))).toThrow(RangeError);
  });

  it('joins two sets', () => {
    const joined = concatSets(numberedSet(2, 1, 1), numberedSet(1, 1, 1));
    expect(joined).toEqual({ size: 1, channels: 1, count: 3, pixels: Uint8Array.from([0, 10, 0]), paths: ['img0', 'img1', 'img0'], labels: null, classes: [] });
  });
});

describe('image grids', () => {
  it('lays out images in columns with a 2-pixel black gutter', async () => {
    const set = numberedSet(5, 4, 3);
    const png = await encodeImageGrid(set.pixels.map((v) => v + 100), 5, 4, 3, 3);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([3 * 4 + 4 * 2, 2 * 4 + 3 * 2, 3]);
    const at = (x: number, y: number) => data[(y * info.width + x) * 3];
    expect(at(0, 0)).toBe(0);
    expect(at(2, 2)).toBe(100); // image 0, top left
    expect(at(2 + 2 * 6, 2)).toBe(120); // image 2, third column
    expect(at(2 + 6, 2 + 6)).toBe(140); // image 4, second row, second column
    expect(at(2 + 2 * 6, 2 + 6)).toBe(0); // no sixth image
  });

  it('writes a grayscale grid to a file, square by default', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowdesk-grid-'));
    dirs.push(dir);
    const path = join(dir, 'samples', 'step-1.png');
    await writeImageGrid(path, numberedSet(9, 5, 1).pixels, 9, 5, 1);
    const meta = await sharp(await readFile(path)).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 3 * 5 + 4 * 2, 3 * 5 + 4 * 2, 1]);
    await expect(encodeImageGrid(new Uint8Array(10), 2, 5, 1)).rejects.toThrow(RangeError);
  });
});

describe('splitIndices', () => {
  const rels = Array.from({ length: 2000 }, (_, i) => `class-${i % 7}/photo-${i}.jpg`);

  it('holds out about the fraction asked for, the same way every time', () => {
    const { train, val } = splitIndices(rels, 0.1);
    expect(train.length + val.length).toBe(rels.length);
    expect(val.length).toBeGreaterThan(150);
    expect(val.length).toBeLessThan(250);
    expect(splitIndices(rels, 0.1)).toEqual({ train, val });
    expect(new Set([...train, ...val]).size).toBe(rels.length);
  });

  it('depends on each path alone: adding and reordering files moves no one', () => {
    const before = splitIndices(rels, 0.2);
    const valBefore = new Set(before.val.map((i) => rels[i]));
    const more = [...rels, ...Array.from({ length: 500 }, (_, i) => `new/${i}.png`)].reverse();
    const after = splitIndices(more, 0.2);
    const valAfter = new Set(after.val.map((i) => more[i]));
    for (const rel of rels) expect(valAfter.has(rel)).toBe(valBefore.has(rel));
  });

  it('keeps one image on each side when it can', () => {
    expect(splitIndices(['a.png'], 0.5)).toEqual({ train: [0], val: [] });
    const two = splitIndices(['a.png', 'b.png'], 0.001);
    expect([two.train.length, two.val.length]).toEqual([1, 1]);
    const most = splitIndices(['a.png', 'b.png', 'c.png'], 0.9999);
    expect(most.train.length).toBe(1);
    expect(splitIndices(['a.png', 'b.png'], 0)).toEqual({ train: [0, 1], val: [] });
  });
});
