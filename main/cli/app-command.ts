// `flowdesk app`: the Electron window, started from FlowDesk's own folder (a checkout or an
// installed package), where its binary can be had; otherwise browser mode, saying why.
import { spawn } from 'node:child_process';
import { packageRoot } from '../engine/version.ts';
import { electronBinary } from './electron-binary.ts';
import { parse } from './options.ts';
import { RUNS_HELP, runsDirOf } from './runs-folder.ts';
import { serveCommand } from './serve-command.ts';

export const appUsage = `Usage: flowdesk app [--port N] [--runs DIR]

Opens the FlowDesk app in its Electron window (the Electron binary downloads on first start).
Where Electron cannot run (the package is not installed, the download fails, or
FLOWDESK_BROWSER=1) it says why and starts browser mode instead (see flowdesk serve --help).
  --port N     browser mode's port (default: a free one)
${RUNS_HELP}`;

/** Signals passed on to the window's process, so Ctrl-C closes the app as it closes the window. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export async function appCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values } = parse(argv, { port: { type: 'string' } }, 0, appUsage);
  if (values.help) {
    log(appUsage);
    return 0;
  }
  const electron = electronBinary(log);
  if (electron.path === null) {
    log(`Electron binary not available: ${electron.reason}. Starting browser mode instead.`);
    return serveCommand(argv, log);
  }
  const env = { ...process.env, FLOWDESK_RUNS_DIR: runsDirOf(values) };
  const child = spawn(electron.path, [packageRoot()], { stdio: 'inherit', env });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const s of FORWARDED) process.on(s, forward);
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 0)));
  for (const s of FORWARDED) process.off(s, forward);
  return code;
}
