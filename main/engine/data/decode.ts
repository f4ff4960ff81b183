// One image file to model pixels with sharp: EXIF rotation, first frame of animations, alpha
// flattened onto black, centre crop to a square, resize, sRGB or grayscale, 8 bits. Anything
// unusable throws a DataError whose message is the reason a person reads in the report.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { DataError } from '../errors.ts';

/** Pixels over this count are refused before decoding (decompression bombs). */
export const DEFAULT_MAX_INPUT_PIXELS = 64_000_000;

export interface DecodeOptions {
  size: number;
  channels: 1 | 3;
  /** Defaults to DEFAULT_MAX_INPUT_PIXELS. */
  maxInputPixels?: number;
}

function reasonOf(err: unknown, maxPixels: number): string {
  const msg = (err as Error).message ?? String(err);
  if (/pixel limit/i.test(msg)) return `image is larger than the ${maxPixels.toLocaleString('en')}-pixel limit`;
  if (/unsupported image format/i.test(msg)) return 'not an image (unrecognised format)';
  // The format was recognised but decoding failed: a damaged or cut-off file.
  return `damaged or truncated image (${msg.split('\n')[0].slice(0, 120)})`;
}

export async function decodeImageBuffer(bytes: Buffer, opts: DecodeOptions): Promise<Uint8Array> {
  const maxPixels = opts.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  if (bytes.length === 0) throw new DataError('BAD_IMAGE', 'empty file (0 bytes)');
  try {
    let pipeline = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated', pages: 1, page: 0 })
      .rotate()
      .resize(opts.size, opts.size, { fit: 'cover', position: 'centre' })
      .flatten({ background: { r: 0, g: 0, b: 0 } });
    pipeline = opts.channels === 1 ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb');
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.width !== opts.size || info.height !== opts.size || info.channels !== opts.channels) {
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${opts.size}x${opts.size}x${opts.channels}`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (err) {
    throw new DataError('BAD_IMAGE', reasonOf(err, maxPixels));
  }
}

/** Reads and decodes one file; throws DataError('BAD_IMAGE') with the reason. */
export async function decodeImageFile(path: string, opts: DecodeOptions): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError('BAD_IMAGE', code === 'EACCES' || code === 'EPERM' ? 'permission denied' : `cannot be read (${code ?? (err as Error).message})`);
  }
  return decodeImageBuffer(bytes, opts);
}
