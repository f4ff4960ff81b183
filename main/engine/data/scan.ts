// Recursive listing of a folder's files for an import, one folder at a time (listed whole, then
// stat-ed in batches): follows symbolic links but never into the same real folder twice (no
// loops), skips hidden entries. With allowed roots (the app), links that lead outside them are
// skipped and named.
import { realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import { readdir, realpath } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { join } from 'node:path';
import { DataError } from '../errors.ts';
import { isInsideRoots, LEADS_OUTSIDE } from '../fs/real-paths.ts';
import { throttledProgress, type ProgressListener } from '../progress.ts';
import type { SkippedFile } from './import-types.ts';

export interface ScannedFile {
  /** Path relative to the scanned folder with '/' separators: the split, cache and report use it. */
  rel: string;
  size: number;
  mtimeMs: number;
}

export interface FolderListing {
  /** Regular files, sorted by `rel`. */
  files: ScannedFile[];
  /** Sub-folders and links that could not be followed, with the reason. */
  skipped: SkippedFile[];
}

export interface ScanOptions {
  /** Real paths of the folders the scan may enter; links leading elsewhere are skipped. Absent (the CLI): no limit. */
  roots?: readonly string[];
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/** Throws DataError('CANCELLED') once the signal has fired. */
export function throwIfCancelled(signal: AbortSignal | undefined, folder: string): void {
  if (signal?.aborted) throw new DataError('CANCELLED', `Import of ${folder} was cancelled.`);
}

/** Hidden files and folders (.DS_Store, .git, ._ resource forks) and macOS archive leftovers. */
function isHiddenName(name: string): boolean {
  return name.startsWith('.') || name === '__MACOSX';
}

function linkReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return 'symbolic link loops back on itself';
  if (code === 'ENOENT') return 'broken symbolic link (its target is missing)';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return `cannot be read (${code ?? (err as Error).message})`;
}

/**
 * Entries stat-ed synchronously between event-loop turns. An awaited stat per file waits a round
 * trip through libuv's thread pool: 10,000 files took a quarter of a second that way, against
 * 30-70 ms synchronously, and a cached import is mostly this scan. Batches keep cancelling and
 * progress responsive.
 */
const STAT_BATCH = 256;

/** An entry's stat (links followed), or the reason it is skipped (unreadable, or a link leading outside the roots). */
function statEntry(root: string, rel: string, entry: Dirent, roots: readonly string[] | undefined): Stats | SkippedFile {
  const path = join(root, rel);
  try {
    // A file that is not a link lies in its folder, already checked; a link is followed only inside the roots.
    if (roots && entry.isSymbolicLink() && !isInsideRoots(realpathSync(path), roots)) return { path, reason: LEADS_OUTSIDE };
    return statSync(path);
  } catch (err) {
    return { path, reason: linkReason(err) };
  }
}

export async function scanFolder(root: string, opts: ScanOptions = {}): Promise<FolderListing> {
  const files: ScannedFile[] = [];
  const skipped: SkippedFile[] = [];
  const visited = new Set<string>();
  const listener = opts.onProgress;
  // The total is unknown until the walk ends, so it is reported as 0 with no ETA.
  const report = throttledProgress(listener && ((p) => listener({ ...p, total: 0, eta: null })), Infinity, 'Looking for images');
  const pending = [''];
  while (pending.length > 0) {
    throwIfCancelled(opts.signal, root);
    const relDir = pending.pop() as string;
    const dir = relDir ? join(root, relDir) : root;
    let entries: Dirent[];
    try {
      const real = await realpath(dir);
      if (visited.has(real)) continue;
      visited.add(real);
      if (opts.roots && !isInsideRoots(real, opts.roots)) {
        if (relDir === '') throw new DataError('BAD_ARGUMENT', `Folder ${root} leads outside the folders FlowDesk may read; choose a folder inside them.`);
        skipped.push({ path: dir, reason: LEADS_OUTSIDE });
        continue;
      }
      // The real path, checked above, is listed: a link swapped since cannot list another folder.
      entries = (await readdir(real, { withFileTypes: true })).filter((e) => !isHiddenName(e.name));
    } catch (err) {
      if (err instanceof DataError) throw err;
      if (relDir === '') throw new DataError('NO_FOLDER', `Folder ${root} cannot be opened (${linkReason(err)}); check its permissions or choose another folder.`);
      skipped.push({ path: dir, reason: `folder cannot be read (${linkReason(err)})` });
      continue;
    }
    for (let start = 0; start < entries.length; start += STAT_BATCH) {
      if (start > 0) await nextTurn();
      throwIfCancelled(opts.signal, root);
      for (const entry of entries.slice(start, start + STAT_BATCH)) {
        const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
        const info = statEntry(root, rel, entry, opts.roots);
        if (!('isFile' in info)) skipped.push(info);
        else if (info.isDirectory()) pending.push(rel);
        else if (info.isFile()) files.push({ rel, size: info.size, mtimeMs: info.mtimeMs });
        // Sockets, FIFOs and devices are never images, and opening a FIFO would block.
      }
      report(files.length, `Looking for images: ${files.length} files`);
    }
  }
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files, skipped };
}
