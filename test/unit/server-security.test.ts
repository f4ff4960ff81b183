// Browser mode's server under attack, without a browser: loopback only, a fresh token per start,
// every HTTP request and WebSocket without the token (or from a foreign Host or Origin) refused,
// no listing, nothing served from outside the renderer folder, and malformed requests answered
// rather than crashing the process. The renderer folder is generated, with a secret beside it.
import { request } from 'node:http';
import { connect } from 'node:net';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AppEvent } from '../../preload/api.ts';
import { HEADER_CSP } from '../../main/csp.ts';
import { serve, type RunningServer } from '../../main/server.ts';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-RENDERER';
const PAGE = '<!doctype html><title>FlowDesk test page</title>';
const SCRIPT = 'console.log("flowdesk test asset");';

let root: string;
let rendererDir: string;
let server: RunningServer;
let listeners: ((e: AppEvent) => void)[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowdesk-server-'));
  rendererDir = join(root, 'renderer');
  await mkdir(join(rendererDir, 'assets', 'empty'), { recursive: true });
  await writeFile(join(rendererDir, 'index.html'), PAGE);
  await writeFile(join(rendererDir, 'assets', 'app.js'), SCRIPT);
  await writeFile(join(root, 'secret.txt'), SECRET);
  // A sibling whose name starts with the renderer folder's: a prefix test without a separator would let it through.
  await mkdir(join(root, 'renderer-evil'));
  await writeFile(join(root, 'renderer-evil', 'secret.txt'), SECRET);
  await symlink(join(root, 'secret.txt'), join(rendererDir, 'assets', 'link-out.js'));
  await symlink(root, join(rendererDir, 'assets', 'dir-out'));
  server = await serve({
    rendererDir,
    call: async (method, arg) => ({ ok: true, value: { method, arg } }),
    subscribe: (l) => {
      listeners.push(l);
      return () => {
        listeners = listeners.filter((x) => x !== l);
      };
    },
  });
});
afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with exactly this target and these headers (fetch would normalise both). */
function raw(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: opts.method ?? 'GET', headers: { host: `127.0.0.1:${server.port}`, ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Bytes written straight to the socket, for requests no HTTP client will send; the reply's status. */
function rawBytes(text: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => socket.write(text));
    let reply = '';
    socket.on('data', (c) => (reply += c.toString('latin1')));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(reply)?.[1] ?? 0)));
    socket.on('error', reject);
  });
}

const withToken = (path: string) => `${path}${path.includes('?') ? '&' : '?'}token=${server.token}`;

/** Opens /events: 'open' when the server accepts it, else the refused status (or the error). */
function openSocket(path: string, headers: Record<string, string> = {}): Promise<{ outcome: 'open'; ws: WebSocket } | { outcome: number | string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${path}`, { headers });
    ws.on('open', () => resolve({ outcome: 'open', ws }));
    ws.on('unexpected-response', (_req, res) => {
      resolve({ outcome: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.on('error', (err) => resolve({ outcome: err.message }));
  });
}

describe('browser-mode server: where it listens and its token', () => {
  it('listens on 127.0.0.1 only, and prints a URL there', async () => {
    expect(server.server.address()).toMatchObject({ address: '127.0.0.1', family: 'IPv4', port: server.port });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
    // Reachable over another interface only if it listened on all of them.
    const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
    if (external) {
      const err = await new Promise<string>((resolve) => {
        const s = connect(server.port, external.address, () => {
          s.destroy();
          resolve('connected');
        });
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      });
      expect(err).toBe('ECONNREFUSED');
    }
  });

  it('draws a fresh random token of at least 192 bits on every start', async () => {
    const others = await Promise.all([0, 1].map(() => serve({ rendererDir, call: async () => ({ ok: true, value: null }) })));
    try {
      const tokens = [server.token, ...others.map((s) => s.token)];
      for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{32,}$/);
      expect(new Set(tokens).size).toBe(3);
      // One server's token opens nothing on another.
      const res = await fetch(`http://127.0.0.1:${others[0].port}/api/getAppInfo`, { method: 'POST', headers: { 'x-flowdesk-token': server.token } });
      expect(res.status).toBe(401);
    } finally {
      await Promise.all(others.map((s) => s.close()));
    }
  });
});

describe('browser-mode server: API calls', () => {
  const api = (headers: Record<string, string>, path = '/api/getAppInfo', method = 'POST') => raw(path, { method, headers, body: '{}' });

  it('answers a call with the token', async () => {
    const ok = await api({ 'x-flowdesk-token': server.token, 'content-type': 'application/json' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ ok: true, value: { method: 'getAppInfo', arg: {} } });
  });

  it('refuses calls without the right token, from a foreign Origin or Host, and other methods', async () => {
    const t = server.token;
    const wrongSameLength = t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A');
    const refused: [string, Promise<Reply>, number][] = [
      ['no token', api({}), 401],
      ['an empty token', api({ 'x-flowdesk-token': '' }), 401],
      ['a wrong token', api({ 'x-flowdesk-token': 'wrong' }), 401],
      ['a wrong token of the same length', api({ 'x-flowdesk-token': wrongSameLength }), 401],
      ['the token with a suffix', api({ 'x-flowdesk-token': `${t}x` }), 401],
      ['the token in the URL instead of the header', api({}, withToken('/api/getAppInfo')), 401],
      ['the token in a cookie instead of the header', api({ cookie: `flowdesk-token-${server.port}=${t}` }), 401],
      ['a foreign Origin', api({ 'x-flowdesk-token': t, origin: 'http://evil.example' }), 403],
      ['Origin null (a sandboxed frame or file page)', api({ 'x-flowdesk-token': t, origin: 'null' }), 403],
      ['an https Origin', api({ 'x-flowdesk-token': t, origin: `https://127.0.0.1:${server.port}` }), 403],
      ['an Origin on another port', api({ 'x-flowdesk-token': t, origin: `http://127.0.0.1:${server.port + 1}` }), 403],
      ['a rebinding Host', api({ 'x-flowdesk-token': t, host: `attacker.example:${server.port}` }), 421],
      ['a Host without the port', api({ 'x-flowdesk-token': t, host: '127.0.0.1' }), 421],
      ['a Host naming loopback as a subdomain', api({ 'x-flowdesk-token': t, host: `localhost.attacker.example:${server.port}` }), 421],
      ['GET instead of POST', api({ 'x-flowdesk-token': t }, '/api/getAppInfo', 'GET'), 405],
    ];
    for (const [label, reply, status] of refused) {
      const r = await reply;
      expect(r.status, label).toBe(status);
      expect(r.body, label).not.toContain('getAppInfo');
    }
  });

  it('refuses a request with no Host header at all', async () => {
    expect(await rawBytes(`POST /api/getAppInfo HTTP/1.0\r\nx-flowdesk-token: ${server.token}\r\ncontent-length: 0\r\n\r\n`)).toBe(421);
  });
});

describe('browser-mode server: events WebSocket', () => {
  it('accepts /events with the token and delivers events', async () => {
    const opened = await openSocket(withToken('/events'));
    expect(opened.outcome).toBe('open');
    const ws = (opened as { ws: WebSocket }).ws;
    await expect.poll(() => listeners.length).toBe(1);
    const got = new Promise<string>((resolve) => ws.once('message', (m) => resolve(String(m))));
    listeners[0]({ type: 'worker-crashed' } as unknown as AppEvent);
    expect(JSON.parse(await got)).toEqual({ type: 'worker-crashed' });
    ws.close();
    await expect.poll(() => listeners.length).toBe(0);
  });

  it('refuses sockets without the right token, from a foreign Origin or Host, or elsewhere', async () => {
    const t = server.token;
    const refused: [string, string, Record<string, string>][] = [
      ['no token', '/events', {}],
      ['an empty token', '/events?token=', {}],
      ['a wrong token', '/events?token=wrong', {}],
      ['the token with a suffix', `/events?token=${t}x`, {}],
      ['the token in a header only', '/events', { 'x-flowdesk-token': t }],
      ['a foreign Origin', withToken('/events'), { origin: 'http://evil.example' }],
      ['Origin null', withToken('/events'), { origin: 'null' }],
      ['a rebinding Host', withToken('/events'), { host: `attacker.example:${server.port}` }],
      ['another path', withToken('/other'), {}],
      ['a path below /events', withToken('/events/x'), {}],
    ];
    for (const [label, path, headers] of refused) {
      const { outcome } = await openSocket(path, headers);
      expect(outcome, label).toBe(401);
    }
    expect(listeners).toHaveLength(0);
  });
});

describe('browser-mode server: static files', () => {
  it('serves the page with the token, then its assets with the cookie the page set', async () => {
    expect((await raw('/')).status).toBe(401);
    expect((await raw('/index.html')).status).toBe(401);
    expect((await raw('/assets/app.js')).status).toBe(401);
    expect((await raw('/assets/app.js', { headers: { cookie: `flowdesk-token-${server.port}=wrong` } })).status).toBe(401);
    expect((await raw('/assets/app.js', { headers: { cookie: `flowdesk-token-${server.port + 1}=${server.token}` } })).status).toBe(401);
    const page = await raw(withToken('/'));
    expect(page.status).toBe(200);
    expect(page.body).toBe(PAGE);
    const setCookie = String(page.headers['set-cookie']);
    expect(setCookie).toBe(`flowdesk-token-${server.port}=${server.token}; Path=/; HttpOnly; SameSite=Strict`);
    const asset = await raw('/assets/app.js', { headers: { cookie: `other=1; ${setCookie.split(';')[0]}` } });
    expect([asset.status, asset.body, asset.headers['content-type']]).toEqual([200, SCRIPT, 'text/javascript; charset=utf-8']);
    expect((await raw(withToken('/assets/app.js'), { headers: { origin: 'http://evil.example' } })).status).toBe(403);
  });

  it('never lists a folder', async () => {
    for (const path of ['/assets', '/assets/', '/assets/empty/', '/assets/empty', '/assets/dir-out/', '/assets/.', '/assets/empty/..']) {
      const r = await raw(withToken(path));
      expect(r.status, path).toBe(404);
      expect(r.body, path).not.toMatch(/app\.js|secret|empty/);
    }
  });

  it('never serves a file from outside the renderer folder, however the path is spelt', async () => {
    const targets = [
      '/../secret.txt',
      '/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/secret.txt',
      '/%2e%2e%2fsecret.txt',
      '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%5csecret.txt',
      '/..\\secret.txt',
      '/assets\\..\\..\\secret.txt',
      '/%252e%252e/secret.txt',
      '/%c0%ae%c0%ae/secret.txt',
      '/.%2e/secret.txt',
      '/../renderer-evil/secret.txt',
      '/%2e%2e/renderer-evil/secret.txt',
      `/${encodeURIComponent(join(root, 'secret.txt'))}`,
      `/${join(root, 'secret.txt')}`,
      `//${join(root, 'secret.txt').slice(1)}`,
      '/assets/link-out.js',
      '/assets/dir-out/secret.txt',
      '/index.html%00.js',
      '/%00',
      '/assets/app.js%00',
      'http://127.0.0.1/../secret.txt',
    ];
    for (const path of targets) {
      const r = await raw(withToken(path));
      expect([400, 404], path).toContain(r.status);
      expect(r.body, path).not.toContain(SECRET);
    }
  });

  it('answers requests that do not parse, and keeps serving', async () => {
    const host = `host: 127.0.0.1:${server.port}\r\n`;
    const upgrade = 'upgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    for (const target of ['http://[', '//[', 'http://127.0.0.1:99999/']) {
      expect([400, 404], target).toContain((await raw(target)).status);
      expect(await rawBytes(`GET ${target} HTTP/1.1\r\n${host}connection: close\r\n\r\n`), target).toBe((await raw(target)).status);
      expect(await rawBytes(`GET ${target} HTTP/1.1\r\n${host}${upgrade}\r\n`), target).toBe(401);
    }
    expect(await rawBytes('GARBAGE\r\n\r\n')).toBe(400);
    expect((await raw(withToken('/'))).status).toBe(200);
  });

  it('refuses other methods on files', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      expect((await raw(withToken('/index.html'), { method })).status, method).toBe(405);
    }
  });

  it('sends the one CSP of main/csp.ts on every answer, refusals included', async () => {
    for (const path of [withToken('/'), '/', withToken('/missing.js'), withToken('/index.html')]) {
      expect((await raw(path)).headers['content-security-policy'], path).toBe(HEADER_CSP);
    }
  });
});
