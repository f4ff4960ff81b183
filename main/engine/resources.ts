// Where the bundled resources live (the default digits a first run trains on), found by walking
// up from this module so it works from the source tree, a bundle, or an installed package.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function resourcesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'resources', 'digits');
    if (existsSync(candidate)) return join(dir, 'resources');
    const parent = dirname(dir);
    if (parent === dir) throw new Error('FlowDesk resources folder not found; reinstall the app.');
    dir = parent;
  }
}

/** The bundled default image set: 3,000 MNIST digits (see resources/digits/README.md). */
export function defaultImageFolder(): string {
  return join(resourcesDir(), 'digits');
}
