// Decoding one image: every format, EXIF rotation, centre crop, gray and RGB, alpha, 16-bit and
// CMYK input, first frames of animations, and a reason for every file that cannot be used.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImageBuffer, decodeImageFile } from '../../main/engine/data/index.ts';
import { centreSquareByArea } from '../../main/engine/data/resample.ts';
import { Rng } from '../../main/engine/random.ts';
import { encodeImage, hugePngHeader, patternPixels, type Format } from '../helpers/image-folder.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function mean(values: ArrayLike<number>): number {
  return Array.from(values).reduce((s, v) => s + v, 0) / values.length;
}

/** Raw gray pixels of a w x h image from a function of (x, y). */
function grayImage(w: number, h: number, f: (x: number, y: number) => number): Buffer {
  return Buffer.from(Array.from({ length: w * h }, (_, i) => f(i % w, Math.floor(i / w))));
}

/** Raw 3-channel pixels: a w x (h * frames) stack of frames, each filled with one gray level. */
function frameStack(size: number, levels: number[]): Buffer {
  return Buffer.concat(levels.map((v) => Buffer.alloc(size * size * 3, v)));
}

describe('decodeImageBuffer', () => {
  const formats: Format[] = ['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif'];
  // JPEG is lossy (chroma subsampling in colour); the others are written losslessly.
  const tolerance: Record<Format, number> = { png: 0, jpeg: 14, webp: 0, gif: 0, tiff: 0, avif: 0 };

  for (const format of formats) {
    for (const channels of [1, 3] as const) {
      it(`decodes ${format} (${channels} channel${channels > 1 ? 's' : ''}) to the pixels that were written`, async () => {
        const pixels = patternPixels(16, channels, 'blobs', new Rng(7));
        const encoded = await encodeImage(pixels, 16, channels, format);
        const decoded = await decodeImageBuffer(encoded, { size: 16, channels });
        expect(decoded).toBeInstanceOf(Uint8Array);
        expect(maxAbsDiff(decoded, pixels)).toBeLessThanOrEqual(tolerance[format]);
      });
    }
  }

  it('applies EXIF orientation before cropping', async () => {
    // 8 wide, 4 high, left half white. Orientation 6 means "turn 90 degrees clockwise to view":
    // the left half becomes the top half of a 4 x 8 image, whose centre 4 x 4 crop has white rows 0-1.
    const raw = grayImage(8, 4, (x) => (x < 4 ? 255 : 0));
    const decode = async (orientation: number) => {
      const jpeg = await sharp(raw, { raw: { width: 8, height: 4, channels: 1 } }).jpeg({ quality: 100 }).withMetadata({ orientation }).toBuffer();
      expect((await sharp(jpeg).metadata()).orientation).toBe(orientation);
      return decodeImageBuffer(jpeg, { size: 4, channels: 1 });
    };
    const turned = await decode(6);
    expect(mean(turned.subarray(0, 8))).toBeGreaterThan(200); // rows 0-1 white, every column
    expect(mean(turned.subarray(8, 16))).toBeLessThan(50);
    // Without rotation the same crop is white on the left and black on the right instead.
    const upright = await decode(1);
    expect(upright[0]).toBeGreaterThan(200);
    expect(upright[3]).toBeLessThan(50);
  });

  it('centre-crops wide and tall images to a square before resizing', async () => {
    // Thirds: black, white, black. Only the middle third survives a centre crop.
    const wide = await sharp(grayImage(24, 8, (x) => (x >= 8 && x < 16 ? 255 : 0)), { raw: { width: 24, height: 8, channels: 1 } }).png().toBuffer();
    const tall = await sharp(grayImage(8, 24, (_, y) => (y >= 8 && y < 16 ? 255 : 0)), { raw: { width: 8, height: 24, channels: 1 } }).png().toBuffer();
    for (const png of [wide, tall]) {
      const px = await decodeImageBuffer(png, { size: 8, channels: 1 });
      expect(px.length).toBe(64);
      expect(Math.min(...px)).toBe(255);
    }
    // A 16 x 16 checker of 8 x 8 squares resized to 2 x 2 keeps one square per pixel (a resize
    // kernel may let a little of each neighbour in).
    const checker = await sharp(grayImage(16, 16, (x, y) => ((x < 8) !== (y < 8) ? 255 : 0)), { raw: { width: 16, height: 16, channels: 1 } }).png().toBuffer();
    expect(maxAbsDiff(await decodeImageBuffer(checker, { size: 2, channels: 1 }), [0, 255, 255, 0])).toBeLessThanOrEqual(32);
  });

  it('gives one channel for grayscale and three for RGB, from either kind of input', async () => {
    const colour = await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 200, g: 100, b: 50 } } }).png().toBuffer();
    const rgb = await decodeImageBuffer(colour, { size: 2, channels: 3 });
    expect(Array.from(rgb)).toEqual([200, 100, 50, 200, 100, 50, 200, 100, 50, 200, 100, 50]);
    const gray = await decodeImageBuffer(colour, { size: 2, channels: 1 });
    expect(gray.length).toBe(4);
    // Luminance of this orange lies between its channels, nearer green than red.
    expect(gray[0]).toBeGreaterThan(100);
    expect(gray[0]).toBeLessThan(160);
    const grayPng = await sharp(grayImage(4, 4, () => 77), { raw: { width: 4, height: 4, channels: 1 } }).png().toBuffer();
    expect(Array.from(await decodeImageBuffer(grayPng, { size: 1, channels: 3 }))).toEqual([77, 77, 77]);
  });

  it('flattens alpha onto black', async () => {
    // Row 0: transparent white, half-transparent white; row 1: opaque red, opaque green.
    const rgba = Buffer.from([255, 255, 255, 0, 255, 255, 255, 128, 255, 0, 0, 255, 0, 255, 0, 255]);
    const png = await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } }).png().toBuffer();
    const px = await decodeImageBuffer(png, { size: 2, channels: 3 });
    expect(Array.from(px.subarray(0, 3))).toEqual([0, 0, 0]);
    for (const v of px.subarray(3, 6)) expect(Math.abs(v - 128)).toBeLessThanOrEqual(2);
    expect(Array.from(px.subarray(6))).toEqual([255, 0, 0, 0, 255, 0]);
    const gray = await decodeImageBuffer(png, { size: 2, channels: 1 });
    expect(gray.length).toBe(4);
    expect(gray[0]).toBe(0);
  });

  it('reduces 16-bit PNGs to 8 bits', async () => {
    const values = [0, 257 * 100, 257 * 200, 65535, 300, 40000, 1000, 65000];
    const gray16 = await sharp(new Uint16Array(values), { raw: { width: 4, height: 2, channels: 1 } }).resize(8, 4, { kernel: 'nearest' }).toColourspace('grey16').png().toBuffer();
    expect((await sharp(gray16).metadata()).depth).toBe('ushort');
    const px = await decodeImageBuffer(gray16, { size: 4, channels: 1 });
    // The centre 4 x 4 of the 8 x 4 image is source columns 1-2, each doubled.
    expect(Array.from(px.subarray(0, 4))).toEqual([100, 100, 200, 200]);
    expect(maxAbsDiff(px.subarray(12, 16), [40000, 40000, 1000, 1000].map((v) => v / 257))).toBeLessThanOrEqual(1);
    const rgb16 = await sharp(new Uint16Array([65535, 0, 32896, 0, 65535, 0, 0, 0, 65535, 25700, 25700, 25700]), { raw: { width: 2, height: 2, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    expect((await sharp(rgb16).metadata()).depth).toBe('ushort');
    expect(Array.from(await decodeImageBuffer(rgb16, { size: 2, channels: 3 }))).toEqual([255, 0, 128, 0, 255, 0, 0, 0, 255, 100, 100, 100]);
  });

  it('converts CMYK JPEGs to sRGB', async () => {
    const cmyk = await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 120, g: 160, b: 90 } } }).jpeg({ quality: 100 }).toColourspace('cmyk').toBuffer();
    const meta = await sharp(cmyk).metadata();
    expect([meta.space, meta.channels]).toEqual(['cmyk', 4]);
    const px = await decodeImageBuffer(cmyk, { size: 2, channels: 3 });
    expect(px.length).toBe(12);
    // A round trip through a print profile moves colours a little, never to another hue.
    expect(maxAbsDiff(px.subarray(0, 3), [120, 160, 90])).toBeLessThanOrEqual(12);
    expect((await decodeImageBuffer(cmyk, { size: 2, channels: 1 })).length).toBe(4);
  });

  for (const format of ['gif', 'webp'] as const) {
    it(`uses the first frame of an animated ${format}`, async () => {
      for (const [first, second] of [[255, 0], [0, 255]]) {
        const anim = sharp(frameStack(4, [first, second]), { raw: { width: 4, height: 8, channels: 3, pageHeight: 4 } as never });
        const encoded = await (format === 'gif' ? anim.gif() : anim.webp({ lossless: true })).toBuffer();
        expect((await sharp(encoded).metadata()).pages).toBe(2);
        const px = await decodeImageBuffer(encoded, { size: 4, channels: 1 });
        expect(Array.from(new Set(px))).toEqual([first]);
      }
    });
  }

  it('refuses unusable bytes with a reason', async () => {
    const reason = (bytes: Buffer, maxInputPixels?: number) =>
      decodeImageBuffer(bytes, { size: 4, channels: 3, maxInputPixels }).then(
        () => 'decoded',
        (e) => `${e.code}: ${e.message}`,
      );
    expect(await reason(Buffer.alloc(0))).toBe('BAD_IMAGE: empty file (0 bytes)');
    expect(await reason(Buffer.from('hello, not a picture'))).toMatch(/^BAD_IMAGE: not an image/);
    expect(await reason(Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]))).toMatch(/^BAD_IMAGE: not an image in a supported format/);
    const noise = patternPixels(64, 3, 'noise', new Rng(1));
    for (const format of ['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif'] as const) {
      const whole = await encodeImage(noise, 64, 3, format);
      expect(await reason(whole.subarray(0, Math.floor(whole.length / 2))), format).toMatch(/^BAD_IMAGE: damaged or truncated (JPEG|PNG|WebP|GIF|TIFF|AVIF) file/);
    }
    expect(await reason(hugePngHeader(30000, 30000))).toBe('BAD_IMAGE: image is too large (30000 x 30000 pixels, over the 64,000,000-pixel limit)');
    const small = await encodeImage(noise, 64, 3, 'png');
    expect(await reason(small, 4000)).toMatch(/too large \(64 x 64 pixels, over the 4,000-pixel limit\)/);
    expect(await reason(small, 4096)).toBe('decoded');
    const heic = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic'), Buffer.alloc(4), Buffer.from('mif1heic'), Buffer.alloc(64)]);
    expect(await reason(heic)).toMatch(/HEIC photos cannot be decoded/);
  });
});

describe('decodeImageFile', () => {
  it('decodes a file whatever its name, and names read failures', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowdesk-decode-'));
    dirs.push(dir);
    const pixels = patternPixels(8, 1, 'stripes', new Rng(2));
    const png = join(dir, 'no-extension');
    await writeFile(png, await encodeImage(pixels, 8, 1, 'png'));
    expect(Array.from(await decodeImageFile(png, { size: 8, channels: 1 }))).toEqual(Array.from(pixels));
    await expect(decodeImageFile(join(dir, 'missing.png'), { size: 8, channels: 1 })).rejects.toMatchObject({ code: 'BAD_IMAGE', message: expect.stringMatching(/disappeared/) });
    await expect(decodeImageFile(dir, { size: 8, channels: 1 })).rejects.toMatchObject({ code: 'BAD_IMAGE', message: expect.stringMatching(/cannot be read \(EISDIR\)/) });
  });
});

describe('centreSquareByArea', () => {
  const ramp = Uint8Array.from({ length: 16 }, (_, i) => i * 10);

  it('keeps an image already of the size, and means the areas it shrinks', () => {
    expect(Array.from(centreSquareByArea(ramp, 4, 4, 1, 4))).toEqual(Array.from(ramp));
    // 4 x 4 to 2 x 2: each output pixel is the mean of a 2 x 2 block.
    expect(Array.from(centreSquareByArea(ramp, 4, 4, 1, 2))).toEqual([25, 45, 105, 125]);
    // 4 x 4 to 3 x 3: a corner covers 1 + 1/3 source pixels a side, weighted 3/4 and 1/4:
    // 0.75 * (0.75 * 0 + 0.25 * 10) + 0.25 * (0.75 * 40 + 0.25 * 50) = 12.5.
    expect(Math.abs(centreSquareByArea(ramp, 4, 4, 1, 3)[0] - 12.5)).toBeLessThanOrEqual(0.5);
  });

  it('crops the centre square of a wide or tall image, by channel', () => {
    // 4 x 2 RGB: the centre 2 x 2 is columns 1-2.
    const wide = Uint8Array.from({ length: 24 }, (_, i) => Math.floor(i / 3) * 10 + (i % 3));
    expect(Array.from(centreSquareByArea(wide, 4, 2, 3, 2))).toEqual([10, 11, 12, 20, 21, 22, 50, 51, 52, 60, 61, 62]);
    // 1 x 3 to 1 x 1 keeps the middle pixel; an odd crop of 3 x 2 to 1 x 1 means half-pixels.
    expect(Array.from(centreSquareByArea(Uint8Array.of(1, 2, 3), 1, 3, 1, 1))).toEqual([2]);
    expect(Array.from(centreSquareByArea(Uint8Array.of(0, 100, 200, 0, 100, 200), 3, 2, 1, 1))).toEqual([100]);
  });

  it('mixes the pixels an output pixel overlaps when it enlarges', () => {
    // 2 to 3 a side: the middle output pixels straddle two source pixels equally, the centre four.
    const up = centreSquareByArea(Uint8Array.of(0, 90, 90, 180), 2, 2, 1, 3);
    expect(Array.from(up)).toEqual([0, 45, 90, 45, 90, 135, 90, 135, 180]);
  });

  it('keeps every pixel of a size the source does not divide in binary (31 to 28 left the last row black)', () => {
    // 31 / 28 * 28 passes 31 by a rounding error; no tap may read past the crop.
    for (const [width, height] of [[31, 31], [40, 31], [31, 62]]) {
      const flat = centreSquareByArea(new Uint8Array(width * height * 3).fill(100), width, height, 3, 28);
      expect(flat.filter((v) => v !== 100).length, `${width} x ${height}`).toBe(0);
    }
  });

  it('gives the same pixels whatever it resized before (its scratch rows are kept between calls)', () => {
    const rng = new Rng(4);
    const image = Uint8Array.from({ length: 48 * 40 * 3 }, () => rng.int(256));
    const first = centreSquareByArea(image, 48, 40, 3, 32);
    // A larger image in between leaves its rows in the kept scratch array.
    centreSquareByArea(Uint8Array.from({ length: 90 * 90 * 3 }, () => rng.int(256)), 90, 90, 3, 32);
    expect(Array.from(centreSquareByArea(image, 48, 40, 3, 32))).toEqual(Array.from(first));
  });

  it('decodes a large photo through sharp\'s shrink and the area resize to the same picture', async () => {
    // 400 x 200, dark left half and bright right half: the centre square is split down the middle.
    const png = await sharp(grayImage(400, 200, (x) => (x < 200 ? 20 : 220)), { raw: { width: 400, height: 200, channels: 1 } }).png().toBuffer();
    const px = await decodeImageBuffer(png, { size: 8, channels: 1 });
    for (let y = 0; y < 8; y++) {
      expect(maxAbsDiff(px.subarray(y * 8, y * 8 + 3), [20, 20, 20])).toBeLessThanOrEqual(2);
      expect(maxAbsDiff(px.subarray(y * 8 + 5, y * 8 + 8), [220, 220, 220])).toBeLessThanOrEqual(2);
    }
  });
});
