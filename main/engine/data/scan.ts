// Recursive listing of a folder's candidate image files: follows symbolic links but never the
// same real folder twice (no loops), skips hidden entries, and reports unreadable folders.
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { SkippedFile } from './import-types.ts';

export interface ScannedFile {
  path: string;
  /** Path relative to the scanned folder, with '/' separators (split and cache keys use it). */
  rel: string;
  size: number;
  mtimeMs: number;
}

export async function scanFolder(root: string, skipped: SkippedFile[], signal?: AbortSignal): Promise<ScannedFile[]> {
  const files: ScannedFile[] = [];
  const seen = new Set<string>();
  const stack = [root];
  while (stack.length > 0) {
    if (signal?.aborted) break;
    const dir = stack.pop()!;
    let real: string;
    let names: string[];
    try {
      real = await realpath(dir);
      if (seen.has(real)) continue;
      seen.add(real);
      names = await readdir(dir);
    } catch (err) {
      skipped.push({ path: dir, reason: `folder cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
      continue;
    }
    names.sort();
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const path = join(dir, name);
      let info;
      try {
        info = await stat(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        skipped.push({ path, reason: code === 'ELOOP' || code === 'ENOENT' ? 'broken or looping symbolic link' : `cannot be read (${code})` });
        continue;
      }
      if (info.isDirectory()) stack.push(path);
      else if (info.isFile()) files.push({ path, rel: relative(root, path).split('\\').join('/'), size: info.size, mtimeMs: info.mtimeMs });
    }
  }
  return files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}
