// Browser mode as the e2e tests use it: the real server, app backend and forked worker over a
// fresh runs folder, or over `runsDir` when given (left in place on stop); `confirmFolder`
// stands for the serve terminal's question (none: no terminal, as under a service).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAppBackend } from '../../main/app-backend.ts';
import { rendererDir } from '../../main/cli/serve-command.ts';
import { serve } from '../../main/server.ts';
import { WorkerHost } from '../../main/worker/host.ts';
import { nodeWorker } from '../../main/worker/node-worker.ts';

export async function startAppServer(given?: string, opts: { confirmFolder?: (folder: string) => Promise<boolean> } = {}) {
  const runsDir = given ?? (await mkdtemp(join(tmpdir(), 'flowdesk-app-runs-')));
  const host = new WorkerHost(nodeWorker(runsDir));
  const call = createAppBackend({ mode: 'browser', runsDir, host, confirmFolder: opts.confirmFolder });
  const server = await serve({ rendererDir: rendererDir(), call, subscribe: (l) => host.onEvent(l) });
  return {
    ...server,
    runsDir,
    host,
    async stop() {
      host.stop();
      await server.close();
      if (!given) await rm(runsDir, { recursive: true, force: true });
    },
  };
}
