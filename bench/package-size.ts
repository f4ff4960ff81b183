// The size of what `npm pack` ships (issue 18: FlowDesk installed like a tool), from a dry run
// over the built out/: the tarball's bytes, unpacked bytes and file count.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

export function packageSize(): object {
  if (!existsSync(join(ROOT, 'out', 'main', 'cli.js'))) return { bench: 'package', available: false, reason: 'out/ is not built; run `npm run build` first' };
  // --ignore-scripts: prepack would build again; this measures the build already there.
  const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] })) as { filename: string; size: number; unpackedSize: number; entryCount: number }[];
  return { bench: 'package', file: pack.filename, tarball_bytes: pack.size, unpacked_bytes: pack.unpackedSize, files: pack.entryCount };
}
