// Run ids as the Api uses them: a run folder's name, checked against a strict pattern and for
// existence under the runs folder before any path is built from it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FlowDeskError } from '../engine/errors.ts';

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function runDirOf(runsDir: string, runId: string): string {
  if (typeof runId !== 'string' || !RUN_ID.test(runId)) throw new FlowDeskError('BAD_ARGUMENT', `${JSON.stringify(runId)} is not a run id.`);
  const dir = join(runsDir, runId);
  if (!existsSync(join(dir, 'run.json'))) throw new FlowDeskError('BAD_ARGUMENT', `There is no run ${runId} in ${runsDir}.`);
  return dir;
}
