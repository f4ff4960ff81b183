// Browser-mode transport: every Api call is a POST to /api/<method> on the local server,
// carrying the per-start token the server printed in the page's URL.
import type { Api, Result } from '../../../preload/api.ts';

function token(): string {
  return new URLSearchParams(window.location.search).get('token') ?? sessionStorage.getItem('flowdesk-token') ?? '';
}

async function call<T>(method: string, body?: unknown): Promise<Result<T>> {
  try {
    const res = await fetch(`/api/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-flowdesk-token': token() },
      body: JSON.stringify(body ?? null),
    });
    if (res.status === 401) return { ok: false, error: { code: 'FORBIDDEN', message: 'This page has no valid token; open the URL that `flowdesk serve` printed.' } };
    return (await res.json()) as Result<T>;
  } catch (err) {
    return { ok: false, error: { code: 'DISCONNECTED', message: `The FlowDesk server is not answering (${(err as Error).message}). Is it still running?` } };
  }
}

export function createHttpApi(): Api {
  const t = new URLSearchParams(window.location.search).get('token');
  if (t) sessionStorage.setItem('flowdesk-token', t);
  return {
    getAppInfo: () => call('getAppInfo'),
  };
}
