// The folders the app's page may name (read from, export into): home, temp, the working folder,
// bundled resources, $FLOWDESK_ROOTS and folders a person allowed while the app runs (the folder
// dialog, or a yes in `flowdesk serve`'s terminal: folder-access.ts), each as its real path. The host decides them and hands
// them to the worker (worker/worker-env.ts), which checks every file it opens beneath them; the
// CLI has none.
import { homedir, tmpdir } from 'node:os';
import { delimiter, resolve } from 'node:path';
import { realPathForCreate } from './engine/fs/real-paths.ts';
import { resourcesDir } from './engine/resources.ts';

/** Real paths allowed in this process since it started; the page alone never adds one. */
const allowedNow = new Set<string>();

/** Allows `realPath` (and what lies beneath it) from now on, for this process and the workers it spawns. */
export function allowFolder(realPath: string): void {
  allowedNow.add(realPath);
}

/** Real paths of the allowed roots (macOS's /var is /private/var; a home may be a link). */
export function allowedRoots(): string[] {
  const extra = (process.env.FLOWDESK_ROOTS ?? '').split(delimiter).filter(Boolean);
  const roots = [homedir(), tmpdir(), process.cwd(), resourcesDir(), ...extra, ...allowedNow].map((r) => {
    try {
      return realPathForCreate(r);
    } catch {
      return resolve(r); // a root behind a broken link holds nothing yet
    }
  });
  return [...new Set(roots)];
}
