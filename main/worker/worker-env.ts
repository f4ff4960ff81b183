// What a worker is told by the host that spawns it, through its environment: the runs folder and
// the allowed roots (real paths) every file it opens for the page must lie in; and glibc malloc's
// settings for training steps, which only an environment can give a process.
import { allowedRoots } from '../allowed-roots.ts';
import { withMallocSettings } from '../engine/onnx/malloc-settings.ts';

const RUNS = 'FLOWDESK_RUNS';
const ROOTS = 'FLOWDESK_ALLOWED_ROOTS';

/** The environment of a worker serving `runsDir`, with the host's allowed roots and the malloc settings. */
export function workerEnv(runsDir: string): NodeJS.ProcessEnv {
  return withMallocSettings({ ...process.env, [RUNS]: runsDir, [ROOTS]: JSON.stringify(allowedRoots()) });
}

/** In the worker: what the host passed. A worker started without it refuses to run. */
export function readWorkerEnv(): { runsDir: string; roots: string[] } {
  const runsDir = process.env[RUNS];
  const roots: unknown = process.env[ROOTS] ? JSON.parse(process.env[ROOTS]) : null;
  if (!runsDir) throw new Error(`${RUNS} is not set; the worker is started by FlowDesk's host.`);
  if (!Array.isArray(roots) || !roots.every((r) => typeof r === 'string')) throw new Error(`${ROOTS} is not a JSON list of folders; the worker is started by FlowDesk's host.`);
  return { runsDir, roots };
}
