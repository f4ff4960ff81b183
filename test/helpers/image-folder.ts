// Generated image folders for tests: learnable patterns in any format sharp writes, plus the
// bad files an import must survive (zero-byte, truncated, not an image, huge, symlink loop).
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { Rng } from '../../main/engine/random.ts';

export type Format = 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff' | 'avif';
export type BadKind = 'zero-byte' | 'truncated' | 'not-an-image' | 'wrong-extension' | 'huge' | 'symlink-loop';

export interface ImageFolderOptions {
  /** Good images to write. Defaults to 8. */
  count?: number;
  /** Side in pixels. Defaults to 16. */
  size?: number;
  /** Defaults to 3. */
  channels?: 1 | 3;
  /** Formats used in turn. Defaults to ['png']. */
  formats?: Format[];
  bad?: BadKind[];
  /** Put every other image in a sub-folder. Defaults to false. */
  nested?: boolean;
  /** 'stripes' (very learnable), 'blobs' or 'noise'. Defaults to 'stripes'. */
  pattern?: 'stripes' | 'blobs' | 'noise';
  seed?: number;
}

/** Raw pixels of one pattern image. */
export function patternPixels(size: number, channels: 1 | 3, pattern: 'stripes' | 'blobs' | 'noise', rng: Rng): Uint8Array {
  const out = new Uint8Array(size * size * channels);
  const period = 2 + rng.int(3);
  const phase = rng.int(period);
  const vertical = rng.next() < 0.5;
  const cx = rng.next() * size;
  const cy = rng.next() * size;
  const r = size * (0.2 + 0.3 * rng.next());
  const tint = [rng.next(), rng.next(), rng.next()];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let v: number;
      if (pattern === 'stripes') v = ((vertical ? x : y) + phase) % period < period / 2 ? 230 : 20;
      else if (pattern === 'blobs') v = Math.hypot(x - cx, y - cy) < r ? 220 : 30;
      else v = rng.int(256);
      for (let c = 0; c < channels; c++) out[(y * size + x) * channels + c] = channels === 1 ? v : Math.round(v * (0.5 + 0.5 * tint[c]));
    }
  }
  return out;
}

export async function encodeImage(pixels: Uint8Array, size: number, channels: 1 | 3, format: Format): Promise<Buffer> {
  const img = sharp(pixels, { raw: { width: size, height: size, channels } });
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
      return img.tiff().toBuffer();
    case 'avif':
      return img.avif({ lossless: true }).toBuffer();
  }
}

/** A PNG whose header claims width x height (a decompression bomb's signature), with no pixel data. */
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
  // One compressed row of pixel data: enough for a reader to trust the header.
  const idat = deflateSync(Buffer.alloc(width + 1));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

export async function makeImageFolder(opts: ImageFolderOptions = {}) {
  const { count = 8, size = 16, channels = 3, formats = ['png'], bad = [], nested = false, pattern = 'stripes', seed = 0 } = opts;
  const dir = await mkdtemp(join(tmpdir(), 'flowdesk-images-'));
  const rng = new Rng(seed);
  const good: string[] = [];
  if (nested) await mkdir(join(dir, 'sub'));
  for (let i = 0; i < count; i++) {
    const format = formats[i % formats.length];
    const name = `img-${String(i).padStart(4, '0')}.${format === 'jpeg' ? 'jpg' : format}`;
    const path = nested && i % 2 === 1 ? join(dir, 'sub', name) : join(dir, name);
    await writeFile(path, await encodeImage(patternPixels(size, channels, pattern, rng), size, channels, format));
    good.push(path);
  }
  const badFiles: Record<string, string> = {};
  const sample = await encodeImage(patternPixels(size, channels, pattern, rng), size, channels, 'png');
  for (const kind of bad) {
    const path = join(dir, `bad-${kind}${kind === 'symlink-loop' ? '' : kind === 'not-an-image' ? '.jpg' : '.png'}`);
    switch (kind) {
      case 'zero-byte':
        await writeFile(path, '');
        break;
      case 'truncated':
        await writeFile(path, (await encodeImage(patternPixels(64, channels, 'noise', rng), 64, channels, 'png')).subarray(0, 200));
        break;
      case 'not-an-image':
        await writeFile(path, 'this is a text file, not a picture\n');
        break;
      case 'wrong-extension': {
        // A PNG named .jpg still decodes: it is a good image, not a bad one.
        const renamed = join(dir, 'actually-png.jpg');
        await writeFile(renamed, sample);
        good.push(renamed);
        continue;
      }
      case 'huge':
        await writeFile(path, hugePngHeader(30000, 30000));
        break;
      case 'symlink-loop':
        await mkdir(path);
        await symlink(path, join(path, 'loop'));
        break;
    }
    badFiles[kind] = path;
  }
  return { dir, good, bad: badFiles, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
