// Browser-mode transport: every Api call is a POST to /api/<method> on the local server and
// events arrive over a WebSocket, both carrying the per-start token from the page's URL.
import type { Api, AppEvent, Result } from '../../../preload/api.ts';
import { API_METHODS } from '../../../preload/channels.ts';

function token(): string {
  return new URLSearchParams(window.location.search).get('token') ?? sessionStorage.getItem('flowdesk-token') ?? '';
}

async function call(method: string, body: unknown): Promise<Result<unknown>> {
  try {
    const res = await fetch(`/api/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-flowdesk-token': token() },
      body: JSON.stringify(body ?? null),
    });
    if (res.status === 401) return { ok: false, error: { code: 'FORBIDDEN', message: 'This page has no valid token; open the URL that `flowdesk serve` printed.' } };
    return (await res.json()) as Result<unknown>;
  } catch (err) {
    return { ok: false, error: { code: 'DISCONNECTED', message: `The FlowDesk server is not answering (${(err as Error).message}). Is it still running?` } };
  }
}

/** One socket for all listeners, reconnecting with a growing delay if the server restarts. */
function eventStream() {
  const listeners = new Set<(e: AppEvent) => void>();
  let socket: WebSocket | null = null;
  let delay = 500;
  const connect = () => {
    const proto = window.location.protocol === 'https:' ? 'wss' : 'ws';
    socket = new WebSocket(`${proto}://${window.location.host}/events?token=${encodeURIComponent(token())}`);
    socket.onopen = () => (delay = 500);
    socket.onmessage = (m) => {
      const event = JSON.parse(String(m.data)) as AppEvent;
      for (const l of listeners) l(event);
    };
    socket.onclose = () => {
      socket = null;
      if (listeners.size > 0) setTimeout(connect, (delay = Math.min(delay * 2, 10_000)));
    };
  };
  return (listener: (e: AppEvent) => void) => {
    listeners.add(listener);
    if (!socket) connect();
    return () => listeners.delete(listener);
  };
}

export function createHttpApi(): Api {
  const t = new URLSearchParams(window.location.search).get('token');
  if (t) sessionStorage.setItem('flowdesk-token', t);
  const calls = Object.fromEntries(API_METHODS.map((m) => [m, (arg?: unknown) => call(m, arg)]));
  const subscribe = eventStream();
  return { ...calls, onEvent: (listener: (e: AppEvent) => void) => subscribe(listener), pathOfDroppedFile: () => null } as unknown as Api;
}
