// The runs folder of a CLI command: `--runs DIR` on every command (`--out` too on train and
// import, which scripts use), else the shared per-user folder (app-paths.ts). Runs left in
// ./runs by earlier versions are pointed out once, with the command that moves them.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkedRunsDir, defaultRunsDir } from '../engine/app-paths.ts';
import { runJsonPath } from '../engine/runs/run-layout.ts';
import { runArgPath } from '../engine/runs/run-locate.ts';
import { DATA_DIR_HELP } from './data-dir-help.ts';
import { UsageError, type Parsed } from './options.ts';

export const RUNS_HELP = `  --runs DIR   folder of runs (default: $FLOWDESK_RUNS_DIR, else runs/ in ${DATA_DIR_HELP})`;

/** Where earlier versions put runs: ./runs of the directory the command ran in. */
const LEGACY_RUNS = 'runs';
let legacyNoticeGiven = false;

function noticeLegacyRuns(runsDir: string): void {
  if (legacyNoticeGiven) return;
  legacyNoticeGiven = true;
  const legacy = resolve(LEGACY_RUNS);
  if (legacy === runsDir || !existsSync(legacy)) return;
  let names: string[];
  try {
    names = readdirSync(legacy);
  } catch {
    return;
  }
  if (!names.some((n) => existsSync(runJsonPath(join(legacy, n))))) return;
  process.stderr.write(
    `flowdesk: ./${LEGACY_RUNS} holds runs from an earlier FlowDesk, which kept them there; runs now live in ${runsDir}. To move them:\n` +
      `  mv ./${LEGACY_RUNS}/* '${runsDir.replace(/'/g, "'\\''")}'/\n`,
  );
}

/** The command's runs folder, absolute; `--out` is the older name train and import still take. */
export function runsDirOf(values: Parsed['values']): string {
  const { runs, out } = values;
  if (typeof runs === 'string' && typeof out === 'string' && resolve(runs) !== resolve(out)) {
    throw new UsageError('--runs and --out name the same folder (the runs folder); give one of them');
  }
  const given = typeof runs === 'string' ? runs : typeof out === 'string' ? out : undefined;
  const dir = checkedRunsDir(given ?? defaultRunsDir());
  noticeLegacyRuns(dir);
  return dir;
}

/** A RUN argument (a path, or a run id in the runs folder) as a path. */
export function runArg(arg: string, values: Parsed['values']): string {
  return runArgPath(arg, runsDirOf(values));
}
