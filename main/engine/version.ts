// FlowDesk's version, install folder and declared packages, found once from the package.json above
// this module (source tree, bundle or installed package alike), so run.json and the app report the real version.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Manifest {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function findPackage(): { root: string; version: string; manifest: Manifest } | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as Manifest;
      if (pkg.name === 'flowdesk' && pkg.version) return { root: dir, version: pkg.version, manifest: pkg };
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

/** The version range FlowDesk's package.json gives a dependency (optional ones too); undefined when it names none. */
export function dependencySpec(name: string): string | undefined {
  const m = found?.manifest;
  return m?.dependencies?.[name] ?? m?.optionalDependencies?.[name];
}
