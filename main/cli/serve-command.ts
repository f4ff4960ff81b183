// `flowdesk serve`: browser mode. Serves the built app and its Api on 127.0.0.1 with a random
// token and prints the URL to open. Ctrl-C, SIGTERM or a hangup pause the run in progress (the
// worker finishes its step and writes a checkpoint) before the server stops; a second one stops
// at once.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allowFolder } from '../allowed-roots.ts';
import { createAppBackend } from '../app-backend.ts';
import { rememberedFolders, terminalConfirm } from '../folder-access.ts';
import { serve } from '../server.ts';
import { WorkerHost } from '../worker/host.ts';
import { nodeWorker } from '../worker/node-worker.ts';
import { numberOption, parse, UsageError } from './options.ts';
import { RUNS_HELP, runsDirOf } from './runs-folder.ts';

export const serveUsage = `Usage: flowdesk serve [--port N] [--runs DIR]

Serves the FlowDesk app in a browser (for machines without the Electron binary, or a remote
GPU box reached through an SSH tunnel). Listens on 127.0.0.1 only and prints a URL with a
random token; requests without it are refused. Folders the page may name lie in your home,
temp, the working folder or $FLOWDESK_ROOTS (a list like PATH); the page may ask for another,
which this terminal confirms (a yes is remembered for the runs folder). Ctrl-C pauses a run in
progress at its next step, with a checkpoint, then stops; a second Ctrl-C stops at once.
  --port N     port to listen on (default: a free one)
${RUNS_HELP}`;

/** Signals that stop the server: Ctrl-C, a service manager's stop, a closed terminal. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function rendererDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'out', 'renderer');
}

/** `renderer` is the built page's folder; tests pass a stand-in so they need no build. */
export async function serveCommand(argv: string[], log: (line: string) => void, renderer = rendererDir()): Promise<number> {
  const { values } = parse(argv, { port: { type: 'string' } }, 0, serveUsage);
  if (values.help) {
    log(serveUsage);
    return 0;
  }
  const port = numberOption(values, 'port', { integer: true, min: 0, max: 65535 });
  const runsDir = runsDirOf(values);
  const dir = renderer;
  if (!existsSync(join(dir, 'index.html'))) throw new UsageError(`The app is not built yet (${dir} is missing); run \`npm run build\` first.`);
  await mkdir(runsDir, { recursive: true });
  for (const folder of await rememberedFolders(runsDir)) allowFolder(folder);
  const host = new WorkerHost(nodeWorker(runsDir));
  const running = await serve({
    rendererDir: dir,
    port,
    call: createAppBackend({ mode: 'browser', runsDir, host, confirmFolder: terminalConfirm({ input: process.stdin, output: process.stdout }) }),
    subscribe: (listener) => host.onEvent(listener),
  });
  log(`FlowDesk is running in browser mode (runs in ${runsDir}). Open:\n  ${running.url}`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    for (const s of STOP_SIGNALS) process.once(s, () => resolve(s));
  });
  log(`${signal}: pausing the run in progress, if any, at its next step (it writes a checkpoint); send it again to stop at once.`);
  for (const s of STOP_SIGNALS) process.once(s, () => host.stop());
  await host.shutdown();
  await running.close();
  return 0;
}
