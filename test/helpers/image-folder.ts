// Generated image folders for tests: learnable, seeded patterns in any format sharp writes, plus
// the bad files an import must survive (empty, truncated, not an image, huge, unreadable, loops).
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { Rng } from '../../main/engine/random.ts';

export type Format = 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff' | 'avif';
export type BadKind = 'zero-byte' | 'truncated' | 'not-an-image' | 'wrong-extension' | 'huge' | 'unreadable' | 'symlink-loop';
export type Pattern = 'stripes' | 'blobs' | 'noise';

export interface ImageFolderOptions {
  /** Good images to write. Defaults to 8. */
  count?: number;
  /** Side in pixels. Defaults to 16. */
  size?: number;
  /** Defaults to 3. */
  channels?: 1 | 3;
  /** Formats used in turn. Defaults to ['png']. */
  formats?: Format[];
  /**
   * Bad files to add, one of each kind. 'wrong-extension' is a PNG named .jpg: it decodes, so it
   * lands in `good`, not `bad`. 'unreadable' is a valid PNG with mode 000, which root still reads:
   * tests running as root must simulate the EACCES (see data-unreadable.test.ts). 'symlink-loop' is
   * a link to itself (reported) inside a folder holding a link to that folder (must not hang).
   */
  bad?: BadKind[];
  /** Put every other image in sub/, and every fourth in sub/deeper/. Defaults to false. */
  nested?: boolean;
  /** Class sub-folders: image i goes into classes[i % classes.length]/ (after `nested`'s folders are chosen, inside them). Defaults to none. */
  classes?: string[];
  /** 'stripes' (easiest to learn), 'blobs' (smooth bright spots) or 'noise'. Defaults to 'stripes'. */
  pattern?: Pattern;
  /** Same seed, same images. Defaults to 0. */
  seed?: number;
}

export interface ImageFolder {
  dir: string;
  /** Files an import must use, in the order written. */
  good: string[];
  /** Path of each bad file by kind. */
  bad: Record<string, string>;
  cleanup(): Promise<void>;
}

/** Raw NHWC pixels of one pattern image. */
export function patternPixels(size: number, channels: 1 | 3, pattern: Pattern, rng: Rng): Uint8Array {
  const out = new Uint8Array(size * size * channels);
  const tint = Array.from({ length: channels }, () => (channels === 1 ? 1 : 0.5 + 0.5 * rng.next()));
  let value: (x: number, y: number) => number;
  if (pattern === 'stripes') {
    const period = 2 + rng.int(3);
    const phase = rng.int(period);
    const vertical = rng.next() < 0.5;
    value = (x, y) => (((vertical ? x : y) + phase) % period < period / 2 ? 230 : 20);
  } else if (pattern === 'blobs') {
    const blobs = Array.from({ length: 1 + rng.int(3) }, () => ({ x: rng.next() * size, y: rng.next() * size, r: size * (0.1 + 0.2 * rng.next()) }));
    value = (x, y) => 20 + 215 * Math.min(1, blobs.reduce((s, b) => s + Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.r * b.r)), 0));
  } else {
    value = () => rng.int(256);
  }
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = value(x, y);
      for (let c = 0; c < channels; c++) out[(y * size + x) * channels + c] = Math.round(v * tint[c]);
    }
  }
  return out;
}

/** Raw pixels encoded losslessly, except JPEG (quality 95) and GIF beyond 256 colours. */
export async function encodeImage(pixels: Uint8Array, size: number, channels: 1 | 3, format: Format): Promise<Buffer> {
  const img = sharp(pixels, { raw: { width: size, height: size, channels } }).toColourspace(channels === 1 ? 'b-w' : 'srgb');
  switch (format) {
    case 'png':
      return img.png().toBuffer();
    case 'jpeg':
      return img.jpeg({ quality: 95 }).toBuffer();
    case 'webp':
      return img.webp({ lossless: true }).toBuffer();
    case 'gif':
      return img.gif().toBuffer();
    case 'tiff':
      return img.tiff({ compression: 'lzw' }).toBuffer();
    case 'avif':
      return img.avif({ lossless: true }).toBuffer();
  }
}

/** A PNG whose header claims width x height (a decompression bomb's signature) with one row of data. */
export function hugePngHeader(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit grayscale, no interlace
  const idat = deflateSync(Buffer.alloc(width + 1));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

async function writeBad(dir: string, kind: BadKind, size: number, channels: 1 | 3, rng: Rng): Promise<string> {
  const png = () => encodeImage(patternPixels(size, channels, 'stripes', rng), size, channels, 'png');
  switch (kind) {
    case 'zero-byte': {
      const path = join(dir, 'bad-zero-byte.png');
      await writeFile(path, '');
      return path;
    }
    case 'truncated': {
      // Noise compresses badly, so 200 bytes cut the pixel data, not just the tail.
      const path = join(dir, 'bad-truncated.png');
      await writeFile(path, (await encodeImage(patternPixels(64, channels, 'noise', rng), 64, channels, 'png')).subarray(0, 200));
      return path;
    }
    case 'not-an-image': {
      const path = join(dir, 'bad-not-an-image.jpg');
      await writeFile(path, 'this is a text file, not a picture\n');
      return path;
    }
    case 'wrong-extension': {
      const path = join(dir, 'actually-a-png.jpg');
      await writeFile(path, await png());
      return path;
    }
    case 'huge': {
      const path = join(dir, 'bad-huge.png');
      await writeFile(path, hugePngHeader(30000, 30000));
      return path;
    }
    case 'unreadable': {
      const path = join(dir, 'bad-unreadable.png');
      await writeFile(path, await png());
      await chmod(path, 0o000);
      return path;
    }
    case 'symlink-loop': {
      const loopDir = join(dir, 'bad-symlink-loop');
      await mkdir(loopDir);
      await symlink(loopDir, join(loopDir, 'again'));
      const self = join(loopDir, 'self.png');
      await symlink(self, self);
      return self;
    }
  }
}

export async function makeImageFolder(opts: ImageFolderOptions = {}): Promise<ImageFolder> {
  const { count = 8, size = 16, channels = 3, formats = ['png'], bad = [], nested = false, classes = [], pattern = 'stripes', seed = 0 } = opts;
  const dir = await mkdtemp(join(tmpdir(), 'flowdesk-images-'));
  const rng = new Rng(seed);
  for (const name of classes.length > 0 ? classes : ['']) await mkdir(join(dir, name, ...(nested ? ['sub', 'deeper'] : [])), { recursive: true });
  const good: string[] = [];
  for (let i = 0; i < count; i++) {
    const format = formats[i % formats.length];
    const name = `img-${String(i).padStart(4, '0')}.${format === 'jpeg' ? 'jpg' : format}`;
    const sub = !nested || i % 2 === 0 ? [] : i % 4 === 3 ? ['sub', 'deeper'] : ['sub'];
    const path = join(dir, classes.length > 0 ? classes[i % classes.length] : '', ...sub, name);
    await writeFile(path, await encodeImage(patternPixels(size, channels, pattern, rng), size, channels, format));
    good.push(path);
  }
  const badFiles: Record<string, string> = {};
  for (const kind of bad) {
    const path = await writeBad(dir, kind, size, channels, rng);
    if (kind === 'wrong-extension') good.push(path);
    else badFiles[kind] = path;
  }
  return { dir, good, bad: badFiles, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
