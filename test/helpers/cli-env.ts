// The environment for a spawned `flowdesk` in tests: a throwaway home and XDG data folder, so
// the default runs folder is never a real person's, and no FLOWDESK_RUNS_DIR from outside.
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'flowdesk.mjs');

/** `home` stands in for ~; the default runs folder becomes `home`/data/flowdesk/runs. */
export function cliEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_DATA_HOME: join(home, 'data'), FLOWDESK_BACKEND: 'wasm', ...extra };
  if (!('FLOWDESK_RUNS_DIR' in extra)) delete env.FLOWDESK_RUNS_DIR;
  return env;
}

/** Where a spawned flowdesk with `cliEnv(home)` keeps its runs by default. */
export function defaultRunsIn(home: string): string {
  return join(home, 'data', 'flowdesk', 'runs');
}
