// Imports a folder of images for training: scan, decode with bounded concurrency, skip and
// report bad files, split deterministically, and cache the result so the next start is instant.
import { realpath, stat } from 'node:fs/promises';
import { DataError } from '../errors.ts';
import { throttledProgress } from '../progress.ts';
import { decodeImageFile, DEFAULT_MAX_INPUT_PIXELS } from './decode.ts';
import { cacheKey, defaultCacheDir, readCache, writeCache, type CachedImport } from './image-cache.ts';
import type { ImageSet, ImportOptions, ImportReport, SkippedFile } from './import-types.ts';
import { scanFolder, type ScannedFile } from './scan.ts';
import { validationIndices } from './split.ts';

/** Two cores here; libvips threads inside each decode too. */
const CONCURRENCY = 4;

async function checkFolder(folder: string): Promise<string> {
  let info;
  try {
    info = await stat(folder);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError('NO_FOLDER', code === 'ENOENT' ? `Folder ${folder} does not exist; choose an existing folder of images.` : `Folder ${folder} cannot be opened (${code}).`);
  }
  if (!info.isDirectory()) throw new DataError('NOT_A_FOLDER', `${folder} is a file, not a folder; choose the folder that holds your images.`);
  return realpath(folder);
}

async function decodeAll(files: ScannedFile[], opts: Required<Pick<ImportOptions, 'size' | 'channels' | 'maxInputPixels'>> & ImportOptions): Promise<CachedImport> {
  const perImage = opts.size * opts.size * opts.channels;
  const decoded: (Uint8Array | null)[] = new Array(files.length).fill(null);
  const skipped: SkippedFile[] = [];
  const report = throttledProgress(opts.onProgress, files.length, 'Decoding images');
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < files.length && !opts.signal?.aborted) {
      const i = next++;
      try {
        decoded[i] = await decodeImageFile(files[i].path, opts);
      } catch (err) {
        skipped.push({ path: files[i].path, reason: (err as Error).message });
      }
      report(++done);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (opts.signal?.aborted) throw new DataError('CANCELLED', 'Import was cancelled.');
  const rels: string[] = [];
  const good = decoded.filter((d, i) => d && rels.push(files[i].rel)) as Uint8Array[];
  const pixels = new Uint8Array(good.length * perImage);
  good.forEach((d, i) => pixels.set(d, i * perImage));
  skipped.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { rels, pixels, skipped };
}

function subset(all: CachedImport, keep: number[], folder: string, size: number, channels: 1 | 3): ImageSet {
  const per = size * size * channels;
  const pixels = new Uint8Array(keep.length * per);
  keep.forEach((src, dst) => pixels.set(all.pixels.subarray(src * per, (src + 1) * per), dst * per));
  return { size, channels, count: keep.length, pixels, paths: keep.map((i) => `${folder}/${all.rels[i]}`) };
}

export async function importImageFolder(folder: string, options: ImportOptions = {}): Promise<{ train: ImageSet; val: ImageSet; report: ImportReport }> {
  const started = Date.now();
  const opts = { size: 32, channels: 3 as 1 | 3, valFraction: 0.1, maxInputPixels: DEFAULT_MAX_INPUT_PIXELS, ...options };
  const real = await checkFolder(folder);
  const scanSkipped: SkippedFile[] = [];
  const files = await scanFolder(folder, scanSkipped, opts.signal);
  const settings = { size: opts.size, channels: opts.channels, maxInputPixels: opts.maxInputPixels, crop: 'centre' };
  const key = cacheKey(real, files, settings);
  const cacheDir = opts.cacheDir === undefined ? defaultCacheDir() : opts.cacheDir;
  let data = cacheDir ? await readCache(cacheDir, key) : null;
  const fromCache = data !== null;
  if (!data) {
    data = await decodeAll(files, opts);
    if (cacheDir && data.rels.length > 0) {
      // A cache that cannot be written (read-only home, full disk) only costs speed next time.
      await writeCache(cacheDir, key, data).catch(() => undefined);
    }
  }
  const skipped = [...scanSkipped, ...data.skipped];
  if (data.rels.length === 0) {
    const reasons = skipped.slice(0, 3).map((s) => `${s.path}: ${s.reason}`).join('; ');
    throw new DataError(
      'NO_IMAGES',
      files.length === 0
        ? `No files found in ${folder}; choose a folder that contains images (JPEG, PNG, WebP, GIF, TIFF, AVIF).`
        : `No usable images in ${folder}: ${skipped.length} file(s) skipped (${reasons}${skipped.length > 3 ? '; ...' : ''}).`,
    );
  }
  const val = validationIndices(data.rels, opts.valFraction);
  const trainIdx = data.rels.map((_, i) => i).filter((i) => !val.has(i));
  const valIdx = [...val].sort((a, b) => a - b);
  return {
    train: subset(data, trainIdx, folder, opts.size, opts.channels),
    val: subset(data, valIdx, folder, opts.size, opts.channels),
    report: {
      folder,
      found: files.length,
      used: data.rels.length,
      train: trainIdx.length,
      val: valIdx.length,
      skipped,
      fromCache,
      fingerprint: key,
      seconds: (Date.now() - started) / 1000,
    },
  };
}
