// `flowdesk serve`: browser mode. Serves the built app and its Api on 127.0.0.1 with a random
// token and prints the URL to open; Ctrl-C stops it.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAppBackend } from '../app-backend.ts';
import { serve } from '../server.ts';
import { WorkerHost } from '../worker/host.ts';
import { nodeWorker } from '../worker/node-worker.ts';
import { numberOption, parse, UsageError } from './options.ts';
import { RUNS_HELP, runsDirOf } from './runs-folder.ts';

export const serveUsage = `Usage: flowdesk serve [--port N] [--runs DIR]

Serves the FlowDesk app in a browser (for machines without the Electron binary, or a remote
GPU box reached through an SSH tunnel). Listens on 127.0.0.1 only and prints a URL with a
random token; requests without it are refused.
  --port N     port to listen on (default: a free one)
${RUNS_HELP}`;

export function rendererDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'out', 'renderer');
}

export async function serveCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values } = parse(argv, { port: { type: 'string' } }, 0, serveUsage);
  if (values.help) {
    log(serveUsage);
    return 0;
  }
  const port = numberOption(values, 'port', { integer: true, min: 0, max: 65535 });
  const runsDir = runsDirOf(values);
  const dir = rendererDir();
  if (!existsSync(join(dir, 'index.html'))) throw new UsageError(`The app is not built yet (${dir} is missing); run \`npm run build\` first.`);
  await mkdir(runsDir, { recursive: true });
  const host = new WorkerHost(nodeWorker(runsDir));
  const running = await serve({
    rendererDir: dir,
    port,
    call: createAppBackend({ mode: 'browser', runsDir, host }),
    subscribe: (listener) => host.onEvent(listener),
  });
  log(`FlowDesk is running in browser mode (runs in ${runsDir}). Open:\n  ${running.url}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  host.stop();
  await running.close();
  return 0;
}
