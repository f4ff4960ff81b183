// Where the Electron executable is: the electron package's binary, downloaded by its own
// installer on first start (Electron 45's package has no install script); null with the reason
// where that is impossible (the package is absent, as npm leaves it on Node older than Electron's, or offline).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Longest wait for the first-start download of the binary (about 100 MB). */
const DOWNLOAD_TIMEOUT_MS = 300_000;

export function electronBinary(log: (line: string) => void): { path: string } | { path: null; reason: string } {
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return { path: null, reason: 'the electron package is not installed' };
  }
  const installed = () => {
    const pathFile = join(dir, 'path.txt');
    const path = existsSync(pathFile) ? join(dir, 'dist', readFileSync(pathFile, 'utf8').trim()) : null;
    return path && existsSync(path) ? path : null;
  };
  const ready = installed();
  if (ready) return { path: ready };
  if (process.env.FLOWDESK_BROWSER === '1') return { path: null, reason: 'FLOWDESK_BROWSER=1' };
  log('Downloading the Electron binary (first start only)...');
  const r = spawnSync(process.execPath, [join(dir, 'install.js')], { cwd: dir, encoding: 'utf8', timeout: DOWNLOAD_TIMEOUT_MS });
  const downloaded = installed();
  if (downloaded) return { path: downloaded };
  const why = `${r.stderr ?? ''}${r.stdout ?? ''}`.split('\n').find((l) => /error/i.test(l))?.trim();
  return { path: null, reason: `its download failed${why ? ` (${why.slice(0, 160)})` : ''}` };
}
