// Browser mode: serves the built renderer and the same Api over HTTP (calls) and a WebSocket
// (events) on 127.0.0.1 only. Every request must carry the random per-start token (API calls in
// a header, the socket in its URL, page and assets in the URL or the cookie the page sets); Host
// and Origin are checked against the loopback address (no DNS rebinding); files are served only
// from the renderer folder, never listed.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AppEvent, Result } from '../preload/api.ts';
import { HEADER_CSP } from './csp.ts';
import { FlowDeskError, toAppError } from './engine/errors.ts';

export interface ServeOptions {
  /** Folder of the built renderer (index.html and assets). */
  rendererDir: string;
  /** Answers one Api call (validation included). */
  call: (method: string, arg: unknown) => Promise<Result<unknown>>;
  /** Subscribes to events pushed to every open page; returns the unsubscribe. */
  subscribe?: (listener: (e: AppEvent) => void) => () => void;
  /** 0 picks a free port. Defaults to 0. */
  port?: number;
  /** Defaults to a fresh random token. */
  token?: string;
}

export interface RunningServer {
  url: string;
  token: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** Images to explore travel in request bodies as base64. */
const MAX_BODY = 24 * 1024 * 1024;
const API_NAME = /^[A-Za-z]{1,40}$/;

function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of cookie `name` in a Cookie header, or undefined. */
function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The request's URL, or null when its target does not parse (a request the server refuses, not a crash). */
function parseUrl(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://127.0.0.1');
  } catch {
    return null;
  }
}

function send(res: ServerResponse, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...extra,
    'content-type': type,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    'content-security-policy': HEADER_CSP,
  });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new FlowDeskError('BAD_ARGUMENT', 'Request body is larger than 24 MB.');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new FlowDeskError('BAD_ARGUMENT', 'Request body is not JSON.');
  }
}

/** A static file strictly inside `root`, or null (no listing, no traversal, no symlink escape). */
async function staticFile(root: string, urlPath: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const rel = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
  const path = join(root, rel);
  try {
    const real = await realpath(path);
    if (!real.startsWith(root + sep)) return null;
    return (await stat(real)).isFile() ? real : null;
  } catch {
    return null;
  }
}

export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const root = await realpath(opts.rendererDir);
  let port = 0;
  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  // Cookies ignore ports, so the name carries it: two servers on one machine keep their own.
  const cookieName = () => `flowdesk-token-${port}`;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = parseUrl(req);
    if (!url) return send(res, 400, 'Bad request target.');
    if (!allowedHosts().has(req.headers.host ?? '')) return send(res, 421, 'Wrong Host header.');
    const origin = req.headers.origin;
    if (origin && !allowedHosts().has(origin.replace(/^http:\/\//, ''))) return send(res, 403, 'Cross-origin requests are refused.');
    if (url.pathname.startsWith('/api/')) {
      if (req.method !== 'POST') return send(res, 405, 'API calls are POST.');
      if (!sameToken(req.headers['x-flowdesk-token'] as string | undefined, token)) return send(res, 401, 'Missing or wrong token.');
      const name = url.pathname.slice('/api/'.length);
      let result: Result<unknown>;
      try {
        if (!API_NAME.test(name)) throw new FlowDeskError('BAD_ARGUMENT', `Unknown API call ${JSON.stringify(name.slice(0, 40))}.`);
        result = await opts.call(name, await readBody(req));
      } catch (err) {
        result = { ok: false, error: toAppError(err) };
      }
      return send(res, 200, JSON.stringify(result), 'application/json');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed.');
    // The printed URL carries the token; the page then sets an HttpOnly, same-site cookie so its
    // scripts, styles and icons (which cannot add a header) prove it too.
    const inUrl = sameToken(url.searchParams.get('token') ?? undefined, token);
    if (!inUrl && !sameToken(cookie(req.headers.cookie, cookieName()), token)) {
      return send(res, 401, 'Open the URL with the token that `flowdesk serve` printed.');
    }
    const file = await staticFile(root, url.pathname);
    if (!file) return send(res, 404, 'Not found.');
    const setCookie: Record<string, string> = inUrl ? { 'set-cookie': `${cookieName()}=${token}; Path=/; HttpOnly; SameSite=Strict` } : {};
    return send(res, 200, await readFile(file), TYPES[extname(file)] ?? 'application/octet-stream', setCookie);
  };
  const server = createServer((req, res) => {
    // A file that vanishes between stat and read, or any other surprise, answers 500; an
    // unhandled rejection here would end the process.
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'Internal error.');
      else res.destroy();
    });
  });

  // Events: a WebSocket at /events?token=..., same Host/Origin rules as every request.
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  // Every socket has its error handled: a bad client (a frame over maxPayload, a reserved
  // opcode, invalid UTF-8, a reset connection) loses its own socket, never the process.
  sockets.on('error', () => undefined);
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const url = parseUrl(req);
    const origin = req.headers.origin;
    const ok =
      url !== null &&
      url.pathname === '/events' &&
      allowedHosts().has(req.headers.host ?? '') &&
      (!origin || allowedHosts().has(origin.replace(/^http:\/\//, ''))) &&
      sameToken(url.searchParams.get('token') ?? undefined, token);
    if (!ok) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const unsubscribe = opts.subscribe?.((e) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(e), () => undefined);
      });
      ws.on('error', () => ws.terminate());
      ws.on('close', () => unsubscribe?.());
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    token,
    port,
    server,
    close: () =>
      new Promise((resolve) => {
        for (const ws of sockets.clients) ws.terminate();
        sockets.close();
        server.close(() => resolve());
      }),
  };
}
