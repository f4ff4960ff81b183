// Where the app keeps its runs when nothing else is said: $FLOWDESK_RUNS_DIR, else the
// platform's per-user data folder.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultAppRunsDir(): string {
  if (process.env.FLOWDESK_RUNS_DIR) return process.env.FLOWDESK_RUNS_DIR;
  const home = homedir();
  if (process.platform === 'win32') return join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'FlowDesk', 'runs');
  if (process.platform === 'darwin') return join(home, 'Library', 'Application Support', 'FlowDesk', 'runs');
  return join(process.env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'flowdesk', 'runs');
}
