// `flowdesk serve` as a real child process (serve-child.ts runs the CLI's own command) in its own
// process group, as a shell starts a foreground job; its port and token read from what it prints.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface ServeProcess {
  child: ChildProcess;
  port: number;
  token: string;
  /** The page's address, token included. */
  url: string;
  runs: string;
  exited: Promise<void>;
}

const SERVE_CHILD = join(import.meta.dirname, 'serve-child.ts');

/** Starts `flowdesk serve --runs runs` over the page in `renderer`, with `env` added to this process's environment. */
export function spawnServe(runs: string, renderer: string, env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  return spawnServeCommand([process.execPath, '--import', 'tsx', SERVE_CHILD, runs, renderer], runs, { env: { ...process.env, ...env } });
}

/** Starts `command` (a `flowdesk serve` over the runs folder `runs`) with `options`; resolves once it prints its page's address. */
export async function spawnServeCommand([file, ...args]: string[], runs: string, options: { env: NodeJS.ProcessEnv; cwd?: string }): Promise<ServeProcess> {
  const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<RegExpExecArray>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /http:\/\/127\.0\.0\.1:(\d+)\/\?token=([\w-]+)/.exec(out);
      if (m) resolve(m);
    });
    void exited.then(() => reject(new Error(`flowdesk serve exited early: ${out}${err}`)));
  });
  return { child, port: Number(url[1]), token: url[2], url: url[0], runs, exited };
}

/** One Api call over HTTP, as the page makes it; the answer is the call's `Result`. */
export async function callServe<T>(s: ServeProcess, method: string, arg: unknown): Promise<{ ok: boolean; value?: T; error?: { code: string; message: string } }> {
  const res = await fetch(`http://127.0.0.1:${s.port}/api/${method}`, { method: 'POST', headers: { 'x-flowdesk-token': s.token, 'content-type': 'application/json' }, body: JSON.stringify(arg) });
  return res.json();
}
