// FlowDesk's version and install folder, found once from the package.json above this module (source
// tree, bundle or installed package alike), so run.json and the app report the real version.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackage(): { root: string; version: string } | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'flowdesk' && pkg.version) return { root: dir, version: pkg.version };
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

const found = findPackage();

export const FLOWDESK_VERSION = found?.version ?? 'unknown';

/** The folder holding FlowDesk's package.json (a checkout or an installed package); Electron starts the app from it. */
export function packageRoot(): string {
  if (!found) throw new Error('FlowDesk package.json not found above its code; reinstall FlowDesk.');
  return found.root;
}
