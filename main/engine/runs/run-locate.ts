// Finding runs: a run id under the runs folder, a RUN argument that is an id or a path, and
// whether a folder lies inside a run or the runs folder (where exports may not go).
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { FlowDeskError } from '../errors.ts';
import { realPathForCreate } from '../fs/real-paths.ts';
import { isRunId, RUN_ID_RULE } from './run-id.ts';
import { runJsonPath } from './run-layout.ts';

/** The folder of run `runId` in `runsDir`; BAD_ARGUMENT when the id is malformed or no such run exists. */
export function runDirOf(runsDir: string, runId: string): string {
  if (!isRunId(runId)) throw new FlowDeskError('BAD_ARGUMENT', `${JSON.stringify(runId)} is not a run id (${RUN_ID_RULE}).`);
  const dir = join(runsDir, runId);
  if (!existsSync(runJsonPath(dir))) throw new FlowDeskError('BAD_ARGUMENT', `There is no run ${runId} in ${runsDir}.`);
  return dir;
}

/**
 * A RUN argument as the CLI takes it: an existing path as given, else a run id in `runsDir`.
 * A name that is neither is returned as given, for the caller's loader to explain.
 */
export function runArgPath(arg: string, runsDir: string): string {
  if (existsSync(arg) || !isRunId(arg) || !existsSync(runJsonPath(join(runsDir, arg)))) return arg;
  return join(runsDir, arg);
}

function isWithin(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** Why `folder` is inside a run or the runs folder, or null when it is outside both. */
export function insideRunsWhy(folder: string, runsDir: string): string | null {
  const real = realPathForCreate(folder);
  if (isWithin(real, realPathForCreate(runsDir))) return `it is inside the runs folder ${runsDir}`;
  for (let dir = real; ; dir = dirname(dir)) {
    if (existsSync(runJsonPath(dir))) return `it is inside the run ${dir}`;
    if (dirname(dir) === dir) return null;
  }
}
