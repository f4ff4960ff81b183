// Decoded folders cached on disk, one slot per real folder and decode settings: a pixel file and
// a JSON index, both written atomically. A missing, stale or damaged cache is rebuilt, never fatal.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomically } from '../fs/atomic-write.ts';
import type { ScannedFile } from './scan.ts';

/** Bumped whenever decoding changes what a file turns into, so old caches are not trusted. */
const CACHE_VERSION = 4;
const FORMAT = 'flowdesk-image-cache';

/** Everything that changes the pixels a folder decodes to, besides its files. */
export interface DecodeSettings {
  size: number;
  channels: 1 | 3;
  maxInputPixels: number;
  crop: 'centre';
}

/** The decoded folder: what the cache holds. Paths are relative to the folder. */
export interface DecodedFolder {
  /** Images used, in pixel order. */
  rels: string[];
  /** NHWC uint8, rels.length images. */
  pixels: Uint8Array;
  skipped: { rel: string; reason: string }[];
  /** Files that are not images by name or content (captions, notes), left out silently. */
  ignored: number;
}

interface CacheIndex extends Omit<DecodedFolder, 'pixels'> {
  format: typeof FORMAT;
  version: number;
  fingerprint: string;
  folder: string;
  settings: DecodeSettings;
  bytes: number;
  sha1: string;
}

export interface CacheSlot {
  dir: string;
  /** File name stem shared by the slot's two files. */
  name: string;
}

export function defaultCacheDir(): string {
  return process.env.FLOWDESK_CACHE || join(homedir(), '.cache', 'flowdesk', 'images');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/**
 * Hash of a folder's listing (relative path, size, modification time of every file) and the
 * decode settings: equal fingerprints mean the same images, wherever the folder lives.
 */
export function listingFingerprint(files: readonly ScannedFile[], settings: DecodeSettings): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ settings, version: CACHE_VERSION }));
  for (const f of files) h.update(`${f.rel}\0${f.size}\0${f.mtimeMs}\n`);
  return h.digest('hex').slice(0, 32);
}

/** One slot per real folder and settings, so a changed folder replaces its old entry instead of piling up. */
export function cacheSlot(dir: string, realFolder: string, settings: DecodeSettings): CacheSlot {
  return { dir, name: sha256(JSON.stringify({ realFolder, settings })) };
}

function pixelSha1(pixels: Uint8Array): string {
  return createHash('sha1').update(pixels).digest('hex');
}

function isIndex(value: unknown, fingerprint: string, bytesPerImage: number): value is CacheIndex {
  const v = value as CacheIndex;
  return (
    typeof v === 'object' && v !== null &&
    v.format === FORMAT && v.version === CACHE_VERSION && v.fingerprint === fingerprint &&
    Array.isArray(v.rels) && v.rels.every((r) => typeof r === 'string') &&
    Array.isArray(v.skipped) && v.skipped.every((s) => typeof s?.rel === 'string' && typeof s.reason === 'string') &&
    Number.isInteger(v.ignored) && v.bytes === v.rels.length * bytesPerImage && typeof v.sha1 === 'string'
  );
}

/** The cached decode of this listing, or null when there is none or it cannot be trusted. */
export async function readCache(slot: CacheSlot, fingerprint: string, bytesPerImage: number): Promise<DecodedFolder | null> {
  try {
    const index: unknown = JSON.parse(await readFile(join(slot.dir, `${slot.name}.json`), 'utf8'));
    if (!isIndex(index, fingerprint, bytesPerImage)) return null;
    const file = await readFile(join(slot.dir, `${slot.name}.pixels`));
    const pixels = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
    // The checksum catches a damaged file and a pixel file from another write racing this index.
    if (pixels.length !== index.bytes || pixelSha1(pixels) !== index.sha1) return null;
    return { rels: index.rels, pixels, skipped: index.skipped, ignored: index.ignored };
  } catch {
    return null;
  }
}

export async function writeCache(slot: CacheSlot, fingerprint: string, realFolder: string, settings: DecodeSettings, data: DecodedFolder): Promise<void> {
  await mkdir(slot.dir, { recursive: true });
  const index: CacheIndex = {
    format: FORMAT,
    version: CACHE_VERSION,
    fingerprint,
    folder: realFolder,
    settings,
    bytes: data.pixels.length,
    sha1: pixelSha1(data.pixels),
    rels: data.rels,
    skipped: data.skipped,
    ignored: data.ignored,
  };
  await writeFileAtomically(join(slot.dir, `${slot.name}.pixels`), data.pixels);
  await writeFileAtomically(join(slot.dir, `${slot.name}.json`), JSON.stringify(index));
}
