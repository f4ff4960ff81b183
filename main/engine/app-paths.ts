// FlowDesk's per-user data folder, and the one runs folder the app, `flowdesk serve` and every CLI
// command share when nothing else is said: $FLOWDESK_RUNS_DIR, else runs/ in the data folder. A runs
// folder on a virtual file system (/proc, /sys, /dev) is refused: reading there can block forever.
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { FlowDeskError } from './errors.ts';
import { realPathForCreate } from './fs/real-paths.ts';

/** FlowDesk's per-user data folder: $FLOWDESK_DATA_DIR, else e.g. $XDG_DATA_HOME/flowdesk or ~/.local/share/flowdesk on Linux. */
export function dataDir(): string {
  if (process.env.FLOWDESK_DATA_DIR) return resolve(process.env.FLOWDESK_DATA_DIR);
  const home = homedir();
  if (process.platform === 'win32') return join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'FlowDesk');
  if (process.platform === 'darwin') return join(home, 'Library', 'Application Support', 'FlowDesk');
  // The XDG spec ignores a relative XDG_DATA_HOME.
  const xdg = process.env.XDG_DATA_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, '.local', 'share'), 'flowdesk');
}

/** Where runs live: $FLOWDESK_RUNS_DIR, else the runs folder in the data folder (dataDir). */
export function defaultRunsDir(): string {
  if (process.env.FLOWDESK_RUNS_DIR) return resolve(process.env.FLOWDESK_RUNS_DIR);
  return join(dataDir(), 'runs');
}

const VIRTUAL_FILE_SYSTEMS = ['/proc', '/sys', '/dev'];

/** `dir` made absolute; BAD_ARGUMENT when it lies on a virtual file system. */
export function checkedRunsDir(dir: string): string {
  const absolute = resolve(dir);
  const real = realPathForCreate(absolute);
  const system = VIRTUAL_FILE_SYSTEMS.find((root) => real === root || real.startsWith(`${root}/`));
  if (system) throw new FlowDeskError('BAD_ARGUMENT', `The runs folder ${dir} is under ${system}, a virtual file system that cannot hold runs; choose a folder on a disk.`);
  return absolute;
}
