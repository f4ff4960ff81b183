// Recursive listing of a folder's files for an import, one directory entry at a time: follows
// symbolic links but never into the same real folder twice (no loops), skips hidden entries.
// With allowed roots (the app), links that lead outside them are skipped and named.
import type { Dir } from 'node:fs';
import { opendir, realpath, stat } from 'node:fs/promises';
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
    let entries: Dir;
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
      entries = await opendir(real);
    } catch (err) {
      if (err instanceof DataError) throw err;
      if (relDir === '') throw new DataError('NO_FOLDER', `Folder ${root} cannot be opened (${linkReason(err)}); check its permissions or choose another folder.`);
      skipped.push({ path: dir, reason: `folder cannot be read (${linkReason(err)})` });
      continue;
    }
    for await (const entry of entries) {
      throwIfCancelled(opts.signal, root);
      if (isHiddenName(entry.name)) continue;
      const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
      let info;
      try {
        // A file that is not a link lies in its folder, already checked; a link is followed only inside the roots.
        if (opts.roots && entry.isSymbolicLink() && !isInsideRoots(await realpath(join(root, rel)), opts.roots)) {
          skipped.push({ path: join(root, rel), reason: LEADS_OUTSIDE });
          continue;
        }
        info = await stat(join(root, rel));
      } catch (err) {
        skipped.push({ path: join(root, rel), reason: linkReason(err) });
        continue;
      }
      if (info.isDirectory()) {
        pending.push(rel);
      } else if (info.isFile()) {
        files.push({ rel, size: info.size, mtimeMs: info.mtimeMs });
        report(files.length, `Looking for images: ${files.length} files`);
      }
      // Sockets, FIFOs and devices are never images, and opening a FIFO would block.
    }
  }
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files, skipped };
}
