// Real paths for folders that may not exist yet: what a path will be once created, with every
// link in its existing part resolved, so a check on it cannot be dodged through a symlink.
import { realpathSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** The real path of `path`, or of its deepest existing parent joined with the rest. */
export function realPathOrParent(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    const parent = dirname(absolute);
    return parent === absolute ? absolute : join(realPathOrParent(parent), relative(parent, absolute));
  }
}
