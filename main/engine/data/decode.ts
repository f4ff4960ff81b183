// One image file to model pixels: sharp decodes (EXIF rotation, first frame of animations, alpha
// flattened onto black, sRGB or grayscale, 8 bits, big images shrunk), then the centre square is
// resized by area in JS (resample.ts); small images of one shape can be decoded many to a call
// (decodeJoined) to the same pixels. Anything unusable throws DataError('BAD_IMAGE') whose
// message is the reason a person reads in the report.
import { closeSync, constants, fstatSync, openSync, read, readSync } from 'node:fs';
import { promisify } from 'node:util';
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import { DataError } from '../errors.ts';
import { LEADS_OUTSIDE, openedFileInsideRoots } from '../fs/real-paths.ts';
import { hasImageExtension, imageFormatOf, isHeic, SIGNATURE_BYTES, type ImageFormat } from './image-format.ts';
import type { ImageShape } from './image-shape.ts';
import { centreSquareByArea } from './resample.ts';

// libvips keeps its last 100 operations to reuse, hashing every operation's arguments and locking
// to look them up. An import's files are each decoded once, and so are grids and animations, so
// it never hits: without it an import takes 0.48 ms of CPU a 48 px JPEG instead of 0.52. The
// setting is libvips', for the whole process.
sharp.cache(false);

/** Pixels (width x height) over this count are refused before decoding: decompression bombs. */
export const DEFAULT_MAX_INPUT_PIXELS = 64_000_000;

export interface DecodeOptions {
  /** Side of the square output. */
  size: number;
  /** 1 for grayscale, 3 for sRGB. */
  channels: 1 | 3;
  /** Largest input in pixels. Defaults to DEFAULT_MAX_INPUT_PIXELS. */
  maxInputPixels?: number;
}

/**
 * sharp shrinks an image whose shorter side is over this many times the output (with JPEG's
 * shrink-on-load, so a big photo decodes cheaply) to that many times; smaller ones skip its resize,
 * which for a thumbnail costs more than the decode (0.5 of 1.1 ms at 48 px): the area resize in JS
 * takes microseconds.
 */
const SHRINK_ABOVE = 2;

const FORMAT_NAMES: Record<ImageFormat, string> = { jpeg: 'JPEG', png: 'PNG', gif: 'GIF', webp: 'WebP', tiff: 'TIFF', heif: 'AVIF' };

/**
 * Largest file worth reading: an uncompressed 16-bit RGBA frame at the pixel cap plus room for
 * metadata. Anything bigger cannot hold an image within the cap, so it is never read into memory.
 */
function maxFileBytes(maxInputPixels: number): number {
  return maxInputPixels * 8 + 2 ** 20;
}

function readFailure(err: unknown): DataError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return new DataError('BAD_IMAGE', 'permission denied (the file cannot be read by this user)');
  if (code === 'ENOENT') return new DataError('BAD_IMAGE', 'file disappeared while the folder was being read');
  return new DataError('BAD_IMAGE', `file cannot be read (${code ?? (err as Error).message})`);
}

/**
 * Files up to this size are read with blocking calls: from the page cache a small file takes
 * about 10 us that way against 60-100 us of CPU for the four round trips (open, stat, read,
 * close) through libuv's pool, which for thumbnails was a tenth of an import. Bigger files are
 * read asynchronously, so a slow disk never holds the event loop for long.
 */
const BLOCKING_READ_BYTES = 1 << 20;

const readAsync = promisify(read);

async function readWhole(fd: number, maxInputPixels: number): Promise<Buffer> {
  const { size } = fstatSync(fd);
  if (size > maxFileBytes(maxInputPixels)) {
    throw new DataError('BAD_IMAGE', `file is ${(size / 2 ** 20).toFixed(0)} MB, too big for an image within the ${maxInputPixels.toLocaleString('en')}-pixel limit`);
  }
  const bytes = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) {
    const bytesRead = size <= BLOCKING_READ_BYTES ? readSync(fd, bytes, filled, size - filled, filled) : (await readAsync(fd, bytes, filled, size - filled, filled)).bytesRead;
    if (bytesRead === 0) break; // shrank while being read
    filled += bytesRead;
  }
  return bytes.subarray(0, filled);
}

async function readImageBytes(path: string, maxInputPixels: number, onlyIfImage: boolean, roots?: readonly string[]): Promise<Buffer | null> {
  let fd: number;
  try {
    // Without blocking: a FIFO swapped in after the scan would otherwise wait for a writer forever.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw readFailure(err);
  }
  try {
    // The opened file is judged, not its name: a link swapped after the folder was scanned is caught here.
    if (roots && !openedFileInsideRoots(fstatSync(fd), path, roots)) throw new DataError('BAD_IMAGE', LEADS_OUTSIDE);
    if (onlyIfImage) {
      const head = Buffer.alloc(SIGNATURE_BYTES);
      const bytesRead = readSync(fd, head, 0, SIGNATURE_BYTES, 0);
      if (imageFormatOf(head.subarray(0, bytesRead)) === null) return null;
    }
    return await readWhole(fd, maxInputPixels);
  } catch (err) {
    throw err instanceof DataError ? err : readFailure(err);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a file found in an image folder. A file whose name is not an image's (a caption, a
 * README) is read only if its first bytes are an image's; otherwise null: not an image at all.
 * With `roots`, a file that really lies outside them is refused with the reason LEADS_OUTSIDE.
 */
export function readFolderFile(path: string, maxInputPixels = DEFAULT_MAX_INPUT_PIXELS, roots?: readonly string[]): Promise<Buffer | null> {
  return readImageBytes(path, maxInputPixels, !hasImageExtension(path), roots);
}

async function decodeFailure(err: unknown, bytes: Buffer, format: ImageFormat, maxPixels: number): Promise<DataError> {
  const message = (err as Error).message ?? String(err);
  if (/pixel limit/i.test(message)) {
    // The header alone gives the size; reading it unlimited decodes nothing.
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata().catch(() => null);
    const dims = meta?.width && meta.height ? `${meta.width} x ${meta.height} pixels, ` : '';
    return new DataError('BAD_IMAGE', `image is too large (${dims}over the ${maxPixels.toLocaleString('en')}-pixel limit)`);
  }
  if (format === 'heif' && isHeic(bytes)) return new DataError('BAD_IMAGE', 'HEIC photos cannot be decoded (no HEVC decoder is bundled); convert it to JPEG');
  // sharp prefixes header failures and stacks libvips warnings on later lines; the first detail is enough.
  const detail = message.replace(/^Input (buffer|file) (has corrupt header|contains unsupported image format):?\s*/i, '').split('\n')[0].slice(0, 120);
  return new DataError('BAD_IMAGE', `damaged or truncated ${FORMAT_NAMES[format]} file${detail ? ` (${detail})` : ''}`);
}

/** The steps after loading and shrinking: alpha onto black, the colour space, 8 bits. */
function toModelPixels(image: Sharp, channels: 1 | 3): Promise<{ data: Buffer; info: OutputInfo }> {
  return image
    .flatten({ background: { r: 0, g: 0, b: 0 } })
    .toColourspace(channels === 1 ? 'b-w' : 'srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
}

function checkChannels(info: OutputInfo, opts: DecodeOptions): void {
  if (info.channels !== opts.channels) throw new Error(`decoded to ${info.channels} channels, expected ${opts.channels}`);
}

/** Decodes image bytes to size x size x channels uint8 (NHWC, one image). */
export async function decodeImageBuffer(bytes: Buffer, opts: DecodeOptions): Promise<Uint8Array> {
  const maxPixels = opts.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  if (bytes.length === 0) throw new DataError('BAD_IMAGE', 'empty file (0 bytes)');
  const format = imageFormatOf(bytes);
  if (format === null) throw new DataError('BAD_IMAGE', 'not an image in a supported format (JPEG, PNG, WebP, GIF, TIFF, AVIF)');
  try {
    const shrunk = SHRINK_ABOVE * opts.size;
    const loaded = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated', pages: 1, page: 0 })
      .rotate()
      .resize(shrunk, shrunk, { fit: 'outside', withoutEnlargement: true });
    const { data, info } = await toModelPixels(loaded, opts.channels);
    checkChannels(info, opts);
    const pixels = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return centreSquareByArea(pixels, info.width, info.height, info.channels, opts.size);
  } catch (err) {
    throw await decodeFailure(err, bytes, format, maxPixels);
  }
}

/**
 * Whether images of this shape decode joined as they do alone: sharp would not shrink them (no
 * side over SHRINK_ABOVE times the output), they are within the pixel limit, which joined images
 * are not checked against one by one, and gray ones go to a gray import (see decodeJoined).
 */
export function canJoin(shape: ImageShape, opts: DecodeOptions): boolean {
  const most = SHRINK_ABOVE * opts.size;
  const fits = shape.width <= most && shape.height <= most && shape.width * shape.height <= (opts.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS);
  return fits && (!shape.gray || opts.channels === 1);
}

/**
 * Decodes two or more images of one shape (image-shape.ts; canJoin) in one sharp call, stacked
 * in a column. sharp's set-up and libvips' pipeline cost about 0.3 ms a call whatever the size,
 * more than decoding a thumbnail. Each image comes out as decodeImageBuffer gives it alone: the
 * same loader, no orientation or profile to apply, no shrink, and the later steps work pixel by
 * pixel on images of the same bands. sharp joins over a four-band background, which repeats a
 * gray image's band in every band of the result, the last read as alpha: its first band is the
 * image. Throws if any image fails (the loaders also fail on a warning here); the caller then
 * decodes them one at a time for their own errors.
 */
export async function decodeJoined(images: Buffer[], shape: ImageShape, opts: DecodeOptions): Promise<Uint8Array[]> {
  const joined = sharp(images, { join: { across: 1 } });
  const { data, info } = shape.gray ? await joined.extractChannel(0).toColourspace('b-w').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }) : await toModelPixels(joined, opts.channels);
  checkChannels(info, opts);
  if (info.width !== shape.width || info.height !== shape.height * images.length) {
    throw new Error(`joined ${info.width} x ${info.height}, not ${images.length} images of ${shape.width} x ${shape.height}`);
  }
  const per = shape.width * shape.height * info.channels;
  return images.map((_, k) => centreSquareByArea(new Uint8Array(data.buffer, data.byteOffset + k * per, per), shape.width, shape.height, info.channels, opts.size));
}

/** Reads and decodes one file the user chose, whatever its name; throws DataError('BAD_IMAGE') with the reason. */
export async function decodeImageFile(path: string, opts: DecodeOptions): Promise<Uint8Array> {
  // Without the image-name test the bytes always come back.
  const bytes = (await readImageBytes(path, opts.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS, false)) as Buffer;
  return decodeImageBuffer(bytes, opts);
}
