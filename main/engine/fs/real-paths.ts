// Paths judged by where they really lead: symbolic links are resolved before a path is compared
// with the allowed roots, and an opened file is judged by what was opened, not by its name, so a
// link swapped between the check and the open cannot lead out of the roots.
import { lstatSync, realpathSync, statSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { FlowDeskError } from '../errors.ts';

/** The reason an import report gives for a file or folder whose link leaves the roots. */
export const LEADS_OUTSIDE = 'link leads outside the allowed folders';

/** Whether `realPath` (already resolved) is one of `roots` (already resolved) or lies beneath one. */
export function isInsideRoots(realPath: string, roots: readonly string[]): boolean {
  return roots.some((root) => realPath === root || realPath.startsWith(root.endsWith(sep) ? root : root + sep));
}

/**
 * The real path of `path`; for a path not created yet (an export target), the real path of its
 * deepest existing parent joined with the rest. A link whose target is missing is refused: what
 * it would create lies wherever the link points.
 */
export function realPathForCreate(path: string): string {
  const rest: string[] = [];
  let dir = resolve(path);
  for (;;) {
    try {
      return join(realpathSync.native(dir), ...rest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw err;
      if (isLink(dir)) throw new FlowDeskError('BAD_ARGUMENT', `${path} goes through the link ${dir}, whose target is missing; choose a folder without broken links.`);
      const parent = dirname(dir);
      if (parent === dir) throw err;
      rest.unshift(basename(dir));
      dir = parent;
    }
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Whether the file whose stats are `opened` (opened by the name `path`) lies inside the roots:
 * the name's real path must be inside and name the very file that was opened (same device and
 * inode), so a link changed after the open, or between a check and the open, is caught either way.
 */
export function openedFileInsideRoots(opened: { dev: number; ino: number }, path: string, roots: readonly string[]): boolean {
  try {
    const real = realpathSync.native(path);
    if (!isInsideRoots(real, roots)) return false;
    const named = statSync(real);
    return opened.dev === named.dev && opened.ino === named.ino;
  } catch {
    return false;
  }
}

/** openedFileInsideRoots for a file open as `handle`. */
export async function openedInsideRoots(handle: FileHandle, path: string, roots: readonly string[]): Promise<boolean> {
  return openedFileInsideRoots(await handle.stat(), path, roots);
}
