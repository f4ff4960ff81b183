// `flowdesk serve`: browser mode. Serves the built app and its Api on 127.0.0.1 with a random
// token and prints the URL to open; Ctrl-C stops it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLOWDESK_VERSION } from '../engine/version.ts';
import { serve } from '../server.ts';
import { numberOption, parse, UsageError } from './options.ts';

export const serveUsage = `Usage: flowdesk serve [--port N]

Serves the FlowDesk app in a browser (for machines without the Electron binary, or a remote
GPU box reached through an SSH tunnel). Listens on 127.0.0.1 only and prints a URL with a
random token; requests without it are refused.
  --port N   port to listen on (default: a free one)`;

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
  const dir = rendererDir();
  if (!existsSync(join(dir, 'index.html'))) throw new UsageError(`The app is not built yet (${dir} is missing); run \`npm run build\` first.`);
  const running = await serve({
    rendererDir: dir,
    port,
    handlers: { getAppInfo: () => ({ version: FLOWDESK_VERSION, mode: 'browser', platform: process.platform }) },
  });
  log(`FlowDesk is running in browser mode. Open:\n  ${running.url}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await running.close();
  return 0;
}
