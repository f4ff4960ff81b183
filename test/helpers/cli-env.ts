// The environment for a spawned `flowdesk` in tests: a throwaway home and XDG data folder, so
// the default runs folder is never a real person's, and no FLOWDESK_RUNS_DIR or FLOWDESK_DATA_DIR from outside.
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'flowdesk.mjs');

/** `home` stands in for ~; the default runs folder becomes `home`/data/flowdesk/runs. */
export function cliEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_DATA_HOME: join(home, 'data'), FLOWDESK_BACKEND: 'wasm', ...extra };
  for (const name of ['FLOWDESK_RUNS_DIR', 'FLOWDESK_DATA_DIR']) if (!(name in extra)) delete env[name];
  return env;
}

/** Where a spawned flowdesk with `cliEnv(home)` keeps its runs by default. */
export function defaultRunsIn(home: string): string {
  return join(home, 'data', 'flowdesk', 'runs');
}
