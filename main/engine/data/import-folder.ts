// Imports a folder of images for training: scan, decode a few at a time, skip and report bad
// files, split deterministically, and cache the result so the next start is instant.
import { constants } from 'node:buffer';
import { realpath, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ConfigError, DataError } from '../errors.ts';
import { throttledProgress } from '../progress.ts';
import { DEFAULT_MAX_INPUT_PIXELS, readFolderFile } from './decode.ts';
import { DecodeBatches, type DecodeListener } from './decode-batches.ts';
import { cacheSlot, defaultCacheDir, listingFingerprint, readCache, writeCache, type DecodedFolder, type DecodeSettings } from './image-cache.ts';
import type { ImageSet, ImportOptions, ImportReport, SkippedFile } from './import-types.ts';
import { scanFolder, throwIfCancelled, type ScannedFile } from './scan.ts';
import { splitIndices } from './split.ts';

/**
 * Files read and decoded at once (files that join others wait in their batch instead, and the
 * batches decode a few at once: decode-batches.ts). sharp runs each decode on libuv's thread pool
 * (4 threads), so a few in flight keep both cores busy while others wait on the disk; more only
 * adds memory.
 */
const DECODE_CONCURRENCY = 4;
/**
 * Files per block of decoded pixels. Blocks are allocated when an image in them decodes, so a
 * folder of a hundred thousand captions and a few images costs memory for the images only.
 */
const BLOCK_FILES = 1024;
const FORMATS = 'JPEG, PNG, WebP, GIF, TIFF or AVIF';

type ResolvedOptions = Required<Pick<ImportOptions, 'size' | 'channels' | 'valFraction' | 'maxInputPixels'>> & ImportOptions;

function resolveOptions(options: ImportOptions): ResolvedOptions {
  const opts = { size: 32, channels: 3 as const, valFraction: 0.1, maxInputPixels: DEFAULT_MAX_INPUT_PIXELS, ...options };
  if (!Number.isInteger(opts.size) || opts.size < 1 || opts.size > 4096) {
    throw new ConfigError('BAD_CONFIG', `Import size must be a whole number of pixels from 1 to 4096; got ${opts.size}.`);
  }
  if (opts.channels !== 1 && opts.channels !== 3) throw new ConfigError('BAD_CONFIG', `Import channels must be 1 (grayscale) or 3 (RGB); got ${opts.channels}.`);
  if (!(opts.valFraction >= 0 && opts.valFraction < 1)) {
    throw new ConfigError('BAD_CONFIG', `Validation fraction must be at least 0 and below 1; got ${opts.valFraction}.`);
  }
  if (!Number.isInteger(opts.maxInputPixels) || opts.maxInputPixels < 1) {
    throw new ConfigError('BAD_CONFIG', `maxInputPixels must be a positive whole number; got ${opts.maxInputPixels}.`);
  }
  return opts;
}

/** The folder's real path, or a DataError saying what is wrong with it. */
async function checkFolder(folder: string): Promise<string> {
  if (!folder) throw new DataError('NO_FOLDER', 'No folder was given; choose a folder of images.');
  let info;
  try {
    info = await stat(folder);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(
      'NO_FOLDER',
      code === 'ENOENT' || code === 'ENOTDIR' ? `Folder ${folder} does not exist; choose an existing folder of images.` : `Folder ${folder} cannot be opened (${code}); check its permissions.`,
    );
  }
  if (!info.isDirectory()) throw new DataError('NOT_A_FOLDER', `${folder} is a file, not a folder; choose the folder that holds your images.`);
  return realpath(folder);
}

function pathOf(folder: string, rel: string): string {
  return join(folder, ...rel.split('/'));
}

/**
 * The decoded images end up in one array, which holds at most constants.MAX_LENGTH bytes (4 GiB
 * on 64-bit Node). Past that the import stops with this, not a RangeError after the memory is spent.
 */
function tooManyPixels(folder: string, opts: ResolvedOptions): ConfigError {
  const limit = constants.MAX_LENGTH;
  const shown = limit >= 2 ** 30 ? `${(limit / 2 ** 30).toFixed(0)} GB` : `${limit.toLocaleString('en')} bytes`;
  const room = Math.floor(limit / (opts.size * opts.size * opts.channels));
  return new ConfigError(
    'BAD_CONFIG',
    `${folder} holds more images than one import can keep at ${opts.size} x ${opts.size} x ${opts.channels} pixels (${shown}, room for ${room.toLocaleString('en')}); choose a smaller size or a smaller folder.`,
  );
}

async function decodeFolder(folder: string, files: readonly ScannedFile[], opts: ResolvedOptions): Promise<DecodedFolder> {
  const per = opts.size * opts.size * opts.channels;
  const blocks: (Uint8Array | undefined)[] = [];
  const slot = (i: number): Uint8Array => {
    const b = Math.floor(i / BLOCK_FILES);
    const block = (blocks[b] ??= new Uint8Array(Math.min(BLOCK_FILES, files.length - b * BLOCK_FILES) * per));
    return block.subarray((i % BLOCK_FILES) * per, ((i % BLOCK_FILES) + 1) * per);
  };
  const used = new Array<boolean>(files.length).fill(false);
  let count = 0;
  let failure: ConfigError | null = null;
  const skipped: DecodedFolder['skipped'] = [];
  let ignored = 0;
  const report = throttledProgress(opts.onProgress, files.length, 'Decoding images');
  let done = 0;
  const listener: DecodeListener = {
    decoded(i, pixels) {
      if (++count * per > constants.MAX_LENGTH) failure ??= tooManyPixels(folder, opts);
      else {
        slot(i).set(pixels);
        used[i] = true;
      }
      report(++done);
    },
    failed(i, err) {
      const reason = err instanceof DataError ? err.message : `unexpected error (${(err as Error).message})`;
      skipped.push({ rel: files[i].rel, reason });
      report(++done);
    },
  };
  const batches = new DecodeBatches(opts, listener);
  const going = () => !opts.signal?.aborted && failure === null;
  let next = 0;
  const work = async () => {
    while (next < files.length && going()) {
      const i = next++;
      let bytes: Buffer | null;
      try {
        bytes = await readFolderFile(pathOf(folder, files[i].rel), opts.maxInputPixels, opts.roots);
      } catch (err) {
        listener.failed(i, err);
        continue;
      }
      if (bytes === null) {
        ignored++;
        report(++done);
      } else await batches.add(i, bytes);
    }
  };
  await Promise.all(Array.from({ length: Math.min(DECODE_CONCURRENCY, files.length) }, work));
  if (going()) await batches.flush();
  else await batches.settled();
  if (failure) throw failure;
  throwIfCancelled(opts.signal, folder);
  const pixels = new Uint8Array(count * per);
  const rels: string[] = [];
  files.forEach((f, i) => {
    if (used[i]) {
      pixels.set(slot(i), rels.length * per);
      rels.push(f.rel);
    }
    // Each block is let go once copied, so the two copies never both hold every image.
    if (i % BLOCK_FILES === BLOCK_FILES - 1) blocks[Math.floor(i / BLOCK_FILES)] = undefined;
  });
  skipped.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { rels, pixels, skipped, ignored };
}

function noImagesError(folder: string, found: number, ignored: number, skipped: SkippedFile[]): DataError {
  if (found === 0 && skipped.length === 0) {
    const others = ignored > 0 ? `its ${ignored} file(s) are not images` : 'it holds no files';
    return new DataError('NO_IMAGES', `No images in ${folder}: ${others}. Choose a folder that contains ${FORMATS} images (sub-folders are searched too).`);
  }
  const first = skipped.slice(0, 3).map((s) => `${relative(folder, s.path)}: ${s.reason}`).join('; ');
  const more = skipped.length > 3 ? `; and ${skipped.length - 3} more` : '';
  return new DataError(
    'NO_IMAGES',
    `No usable images in ${folder}: ${skipped.length} file(s) skipped (${first}${more}). Replace or convert those files, or choose another folder.`,
  );
}

function subset(all: DecodedFolder, keep: readonly number[], folder: string, size: number, channels: 1 | 3): ImageSet {
  const per = size * size * channels;
  const pixels = new Uint8Array(keep.length * per);
  keep.forEach((src, dst) => pixels.set(all.pixels.subarray(src * per, (src + 1) * per), dst * per));
  return { size, channels, count: keep.length, pixels, paths: keep.map((i) => pathOf(folder, all.rels[i])), labels: null, classes: [] };
}

export async function importImageFolder(folder: string, options: ImportOptions = {}): Promise<{ train: ImageSet; val: ImageSet; report: ImportReport }> {
  const started = performance.now();
  const opts = resolveOptions(options);
  const real = await checkFolder(folder);
  const listing = await scanFolder(folder, { roots: opts.roots, signal: opts.signal, onProgress: opts.onProgress });
  const settings: DecodeSettings = { size: opts.size, channels: opts.channels, maxInputPixels: opts.maxInputPixels, crop: 'centre' };
  const fingerprint = listingFingerprint(listing.files, settings);
  const cacheDir = opts.cacheDir === undefined ? defaultCacheDir() : opts.cacheDir;
  const slot = cacheDir ? cacheSlot(cacheDir, real, settings) : null;
  const per = opts.size * opts.size * opts.channels;

  let decoded = slot ? await readCache(slot, fingerprint, per) : null;
  const fromCache = decoded !== null;
  if (decoded) {
    throttledProgress(opts.onProgress, decoded.rels.length, 'Loaded from the cache')(decoded.rels.length);
  } else {
    decoded = await decodeFolder(folder, listing.files, opts);
    if (slot && decoded.rels.length > 0) {
      // A cache that cannot be written (read-only home, full disk) only costs speed next time.
      await writeCache(slot, fingerprint, real, settings, decoded).catch(() => undefined);
    }
  }

  const skipped = [...listing.skipped, ...decoded.skipped.map((s) => ({ path: pathOf(folder, s.rel), reason: s.reason }))];
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const found = listing.files.length - decoded.ignored;
  if (decoded.rels.length === 0) throw noImagesError(folder, found, decoded.ignored, skipped);
  const split = splitIndices(decoded.rels, opts.valFraction);
  return {
    train: subset(decoded, split.train, folder, opts.size, opts.channels),
    val: subset(decoded, split.val, folder, opts.size, opts.channels),
    report: {
      folder,
      found,
      ignored: decoded.ignored,
      used: decoded.rels.length,
      train: split.train.length,
      val: split.val.length,
      skipped,
      fromCache,
      fingerprint,
      seconds: (performance.now() - started) / 1000,
    },
  };
}
