// Decoded folders cached on disk per folder and settings: a pixel file and a JSON index, both
// written atomically. A missing, stale or damaged cache is simply rebuilt, never fatal.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomically } from '../fs/atomic-write.ts';
import type { ImportReport } from './import-types.ts';
import type { ScannedFile } from './scan.ts';

export interface CachedImport {
  /** Relative paths of the decoded images, in pixel order. */
  rels: string[];
  pixels: Uint8Array;
  skipped: ImportReport['skipped'];
}

interface CacheIndex extends Omit<CachedImport, 'pixels'> {
  key: string;
  bytes: number;
}

export function defaultCacheDir(): string {
  return process.env.FLOWDESK_CACHE ?? join(homedir(), '.cache', 'flowdesk', 'images');
}

/** Fingerprint of a folder's listing and the decode settings. */
export function cacheKey(realFolder: string, files: readonly ScannedFile[], settings: object): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ realFolder, settings, version: 1 }));
  for (const f of files) h.update(`${f.rel}\0${f.size}\0${Math.round(f.mtimeMs)}\n`);
  return h.digest('hex').slice(0, 32);
}

export async function readCache(dir: string, key: string): Promise<CachedImport | null> {
  try {
    const index = JSON.parse(await readFile(join(dir, `${key}.json`), 'utf8')) as CacheIndex;
    if (index.key !== key || !Array.isArray(index.rels) || !Array.isArray(index.skipped)) return null;
    const pixels = await readFile(join(dir, `${key}.pixels`));
    if (pixels.length !== index.bytes) return null;
    return { rels: index.rels, skipped: index.skipped, pixels: new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength) };
  } catch {
    return null;
  }
}

export async function writeCache(dir: string, key: string, data: CachedImport): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Pixels first: an index only ever points at a whole pixel file.
  await writeFileAtomically(join(dir, `${key}.pixels`), data.pixels);
  const index: CacheIndex = { key, rels: data.rels, skipped: data.skipped, bytes: data.pixels.length };
  await writeFileAtomically(join(dir, `${key}.json`), JSON.stringify(index));
}
