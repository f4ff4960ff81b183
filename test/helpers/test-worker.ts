// The app's worker in a test: a real worker process on a runs folder, the wasm backend and a cache
// inside the test's folder, reached through the same Api backend the server uses. `stop` ends the
// worker and puts the environment back.
import { join } from 'node:path';
import type { Result } from '../../preload/api.ts';
import { createAppBackend } from '../../main/app-backend.ts';
import { WorkerHost } from '../../main/worker/host.ts';
import { nodeWorker } from '../../main/worker/node-worker.ts';

export interface TestWorker {
  call: <T = unknown>(method: string, arg?: unknown) => Promise<Result<T>>;
  stop(): void;
}

export function startTestWorker(root: string, runsDir: string): TestWorker {
  const savedEnv = { ...process.env };
  process.env.FLOWDESK_BACKEND = 'wasm';
  process.env.FLOWDESK_CACHE = join(root, 'cache');
  const host = new WorkerHost(nodeWorker(runsDir));
  const call = createAppBackend({ mode: 'browser', runsDir, host }) as TestWorker['call'];
  return {
    call,
    stop() {
      host.stop();
      process.env = savedEnv;
    },
  };
}
