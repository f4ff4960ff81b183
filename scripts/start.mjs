// `npm start`: builds the app when needed, then opens the Electron window where the Electron
// binary is present; where it is not (it downloads on first launch, which can fail offline),
// says so and starts browser mode instead.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/** The Electron executable, downloading it on first start; null with a reason when impossible. */
function electronBinary() {
  let dir;
  try {
    dir = dirname(require.resolve('electron/package.json'));
  } catch {
    return { path: null, reason: 'the electron package is not installed' };
  }
  const installed = () => {
    const pathFile = join(dir, 'path.txt');
    const path = existsSync(pathFile) ? join(dir, 'dist', readFileSync(pathFile, 'utf8').trim()) : null;
    return path && existsSync(path) ? path : null;
  };
  if (installed()) return { path: installed() };
  if (process.env.FLOWDESK_BROWSER === '1') return { path: null, reason: 'FLOWDESK_BROWSER=1' };
  console.log('Downloading the Electron binary (first start only)...');
  const r = spawnSync(process.execPath, [join(dir, 'install.js')], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  if (installed()) return { path: installed() };
  const why = `${r.stderr ?? ''}${r.stdout ?? ''}`.split('\n').find((l) => /error/i.test(l))?.trim();
  return { path: null, reason: `its download failed${why ? ` (${why.slice(0, 160)})` : ''}` };
}

run(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build']);
const electron = electronBinary();
if (!electron.path) console.log(`Electron binary not available: ${electron.reason}. Starting browser mode instead.`);
const child = electron.path
  ? spawn(electron.path, [root], { cwd: root, stdio: 'inherit' })
  : spawn(process.execPath, [join(root, 'bin', 'flowdesk.mjs'), 'serve', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 0));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
