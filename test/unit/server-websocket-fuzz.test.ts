// Hostile WebSocket clients against browser mode's /events: frames over the size limit,
// fragments, reserved opcodes, invalid UTF-8, odd close codes, unmasked frames and floods, each
// written byte by byte to a socket that holds the token. A bad client loses its own socket; the
// server keeps answering calls and delivering events to the good clients.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AppEvent } from '../../preload/api.ts';
import { serve, type RunningServer } from '../../main/server.ts';
import { attack, frame, HOSTILE_FRAMES } from '../helpers/ws-attacks.ts';

let root: string;
let server: RunningServer;
let listeners: ((e: AppEvent) => void)[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowdesk-ws-fuzz-'));
  await mkdir(join(root, 'renderer'));
  await writeFile(join(root, 'renderer', 'index.html'), '<!doctype html>');
  server = await serve({
    rendererDir: join(root, 'renderer'),
    call: async (method) => ({ ok: true, value: method }),
    subscribe: (l) => {
      listeners.push(l);
      return () => (listeners = listeners.filter((x) => x !== l));
    },
  });
});
afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

async function serverStillWorks(): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/getAppInfo`, { method: 'POST', headers: { 'x-flowdesk-token': server.token } });
  expect(await res.json()).toEqual({ ok: true, value: 'getAppInfo' });
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/events?token=${server.token}`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  await expect.poll(() => listeners.length).toBeGreaterThan(0);
  const got = new Promise<string>((resolve) => ws.once('message', (m) => resolve(String(m))));
  for (const l of listeners) l({ type: 'train-warning', runId: 'r', message: 'still here' });
  expect(JSON.parse(await got)).toMatchObject({ message: 'still here' });
  ws.close();
}

describe('browser-mode server: hostile WebSocket frames', () => {
  for (const [label, bytes] of HOSTILE_FRAMES) {
    it(`drops ${label}, and keeps serving`, async () => {
      await attack(server, bytes());
      await serverStillWorks();
    });
  }

  it('survives clients that vanish mid-frame or mid-handshake, and ones sending garbage after the upgrade', async () => {
    await attack(server, [frame(0x1, Buffer.alloc(100, 0x61)).subarray(0, 20)], { expectClose: false });
    await attack(server, [randomBytes(4096)]);
    for (const end of ['destroy', 'resetAndDestroy'] as const) {
      const client = connect(server.port, '127.0.0.1', () => {
        client.write(`GET /events?token=${server.token} HTTP/1.1\r\nhost: 127.0.0.1:${server.port}\r\nupgrade: websocket\r\n`);
        setTimeout(() => client[end](), 50);
      });
      client.on('error', () => undefined);
      await new Promise((resolve) => client.once('close', resolve));
    }
    await serverStillWorks();
  });

  it('keeps delivering events to a good client while a hostile one is dropped beside it', async () => {
    const good = new WebSocket(`ws://127.0.0.1:${server.port}/events?token=${server.token}`);
    await new Promise((resolve) => good.once('open', resolve));
    await attack(server, [frame(0x1, Buffer.alloc(4096, 0x61))]);
    const got = new Promise<string>((resolve) => good.once('message', (m) => resolve(String(m))));
    for (const l of listeners) l({ type: 'train-warning', runId: 'r', message: 'after the attack' });
    expect(JSON.parse(await got)).toMatchObject({ message: 'after the attack' });
    good.close();
  });
});
