// Joined decoding (decode-batches.ts): which headers may be joined, and an import that joins gives
// every file the pixels, or the reason it is skipped, that decoding it alone gives.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as decode from '../../main/engine/data/decode.ts';
import { imageShape } from '../../main/engine/data/image-shape.ts';
import { importImageFolder } from '../../main/engine/data/index.ts';
import { Rng } from '../../main/engine/random.ts';

// Counts the joined calls, so the equality below is known to cover them.
vi.mock('../../main/engine/data/decode.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../main/engine/data/decode.ts')>();
  return { ...real, decodeJoined: vi.fn(real.decodeJoined) };
});

const rng = new Rng(11);

function noise(width: number, height: number, channels: number): Buffer {
  return Buffer.from(Array.from({ length: width * height * channels }, () => rng.int(256)));
}

function raw(width: number, height: number, channels: 1 | 2 | 3 | 4) {
  return sharp(noise(width, height, channels), { raw: { width, height, channels } });
}

/** Each kind of file, by name; `joins` says whether imageShape lets it join others of its shape (gray ones only in a gray import). */
const KINDS: Record<string, { make: () => Promise<Buffer>; joins: boolean }> = {
  'jpeg-rgb': { make: () => raw(12, 10, 3).jpeg().toBuffer(), joins: true },
  'jpeg-progressive': { make: () => raw(16, 16, 3).jpeg({ progressive: true }).toBuffer(), joins: true },
  'png-rgb': { make: () => raw(12, 10, 3).png().toBuffer(), joins: true },
  'png-rgba': { make: () => raw(9, 9, 4).png().toBuffer(), joins: true },
  'png-rgb16': { make: () => raw(11, 13, 3).toColourspace('rgb16').png().toBuffer(), joins: true },
  'png-palette-alpha': { make: () => raw(10, 10, 4).png({ palette: true, colours: 16 }).toBuffer(), joins: true },
  'png-interlaced': { make: () => raw(10, 12, 3).png({ progressive: true }).toBuffer(), joins: true },
  'jpeg-gray': { make: () => raw(13, 9, 1).toColourspace('b-w').jpeg().toBuffer(), joins: true },
  'png-gray': { make: () => raw(13, 9, 1).toColourspace('b-w').png().toBuffer(), joins: true },
  'png-gray16': { make: () => raw(13, 9, 1).toColourspace('grey16').png().toBuffer(), joins: true },
  'png-gray-alpha': { make: () => raw(13, 9, 2).toColourspace('b-w').png().toBuffer(), joins: false },
  'jpeg-rotated': { make: () => raw(14, 8, 3).jpeg().withMetadata({ orientation: 6 }).toBuffer(), joins: false },
  'jpeg-cmyk': { make: () => raw(12, 10, 3).toColourspace('cmyk').jpeg().toBuffer(), joins: false },
  'png-profile': { make: () => raw(12, 10, 3).png().withIccProfile('p3').toBuffer(), joins: false },
  'webp': { make: () => raw(12, 10, 3).webp({ lossless: true }).toBuffer(), joins: false },
};

describe('imageShape', () => {
  it('joins colour JPEGs and PNGs with nothing read per image, keyed by size and layout', async () => {
    for (const [name, kind] of Object.entries(KINDS)) {
      const shape = imageShape(await kind.make());
      expect(shape !== null, name).toBe(kind.joins);
    }
    expect(imageShape(await KINDS['jpeg-rgb'].make())).toEqual({ key: 'jpeg 12x10 3', width: 12, height: 10, gray: false });
    expect(imageShape(await KINDS['png-gray'].make())).toMatchObject({ width: 13, height: 9, gray: true });
    expect(imageShape(await KINDS['png-rgb'].make())?.key).not.toBe(imageShape(await KINDS['png-rgba'].make())?.key);
    // A PNG cut before IEND and bytes that are no image decode alone.
    const png = await KINDS['png-rgb'].make();
    expect(imageShape(png.subarray(0, png.length - 12))).toBeNull();
    expect(imageShape(Buffer.from('not an image at all'))).toBeNull();
  });
});

describe('an import that joins', () => {
  let dir: string;
  const alone = new Map<string, Uint8Array | string>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flowdesk-joined-'));
    const files: [string, Buffer][] = [];
    // Three of each kind, interleaved by name; then three RGB JPEGs of each of 20 sizes, more
    // shapes than are gathered at once.
    for (let copy = 0; copy < 3; copy++) {
      for (const [name, kind] of Object.entries(KINDS)) files.push([`${copy}-${name}`, await kind.make()]);
    }
    for (let side = 11; side <= 30; side++) {
      for (let copy = 0; copy < 3; copy++) files.push([`side-${side}-${copy}`, await raw(side, side - 1, 3).jpeg().toBuffer()]);
    }
    // A JPEG too big to join at size 16 (sharp shrinks it first), and a truncated one among its shape's batch.
    files.push(['big.jpg', await raw(40, 30, 3).jpeg().toBuffer()]);
    const cut = await KINDS['jpeg-rgb'].make();
    files.push(['1-jpeg-rgb-truncated', cut.subarray(0, cut.length - 40)]);
    for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  for (const channels of [3, 1] as const) {
    it(`gives each file what decoding it alone gives (${channels} channel${channels > 1 ? 's' : ''})`, async () => {
      const opts = { size: 16, channels };
      vi.mocked(decode.decodeJoined).mockClear();
      const { train, val, report } = await importImageFolder(dir, { ...opts, cacheDir: null, valFraction: 0 });
      expect(val.count).toBe(0);
      // Every joinable shape was decoded joined, its three files or four (the truncated file's
      // batch, which failed); the three gray shapes only when the import is gray.
      const joined = vi.mocked(decode.decodeJoined).mock.calls.map(([images]) => images.length);
      expect(joined.sort()).toEqual([...Array.from({ length: channels === 1 ? 29 : 26 }, () => 3), 4]);
      alone.clear();
      for (const path of [...train.paths, ...report.skipped.map((s) => s.path)]) {
        alone.set(path, await decode.decodeImageBuffer(await readFile(path), opts).catch((err: Error) => err.message));
      }
      train.paths.forEach((path, i) => {
        expect(Array.from(train.pixels.subarray(i * 256 * channels, (i + 1) * 256 * channels)), path).toEqual(Array.from(alone.get(path) as Uint8Array));
      });
      // Its own reason, not its batch's. The detail in brackets is libvips' one global error
      // buffer, which another pipeline ending at that moment can empty ("Unknown error"), alone too.
      const reason = (message: string) => message.split(' (')[0];
      expect(report.skipped.map((s) => [s.path, reason(s.reason)])).toEqual([[join(dir, '1-jpeg-rgb-truncated'), 'damaged or truncated JPEG file']]);
      expect(reason(alone.get(join(dir, '1-jpeg-rgb-truncated')) as string)).toBe('damaged or truncated JPEG file');
      expect(train.count).toBe(Object.keys(KINDS).length * 3 + 20 * 3 + 1);
    });
  }
});
