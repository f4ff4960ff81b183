// The compute worker as electron-vite bundles it for the app (out/main/worker.js), started the
// way a utilityProcess runs it: it must load, pick a backend and answer calls. Browser mode and
// the other tests run the TypeScript source, so only this catches a bundle that cannot start.
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostMessage, WorkerMessage } from '../../main/worker/protocol.ts';
import { workerEnv } from '../../main/worker/worker-env.ts';

const bundle = join(import.meta.dirname, '..', '..', 'out', 'main', 'worker.js');

describe.skipIf(!existsSync(bundle))(`the bundled worker${existsSync(bundle) ? '' : ' (skipped: run `npm run build` first; `npm test` does)'}`, () => {
  it('starts and answers calls', async () => {
    const runs = await mkdtemp(join(tmpdir(), 'flowdesk-built-worker-'));
    const child = fork(bundle, [], { env: { ...workerEnv(runs), FLOWDESK_BACKEND: 'wasm' }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const messages: WorkerMessage[] = [];
    const next = (pred: (m: WorkerMessage) => boolean) =>
      new Promise<WorkerMessage>((resolve, reject) => {
        const found = messages.find(pred);
        if (found) return resolve(found);
        child.on('message', (m: WorkerMessage) => pred(m) && resolve(m));
        child.on('exit', (code) => reject(new Error(`worker exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)));
      });
    child.on('message', (m: WorkerMessage) => messages.push(m));
    try {
      await next((m) => m.kind === 'ready');
      const call = (id: number, method: string, arg: unknown = null) => {
        child.send({ kind: 'call', id, method, arg } as HostMessage);
        return next((m) => m.kind === 'result' && m.id === id);
      };
      expect(await call(1, 'backend')).toMatchObject({ result: { ok: true, value: expect.stringMatching(/^backend: wasm/) } });
      expect(await call(2, 'listRuns', {})).toMatchObject({ result: { ok: true, value: [] } });
      expect(await call(3, 'runShell', 'rm -rf /')).toMatchObject({ result: { ok: false, error: { code: 'BAD_ARGUMENT' } } });
    } finally {
      child.kill();
      await rm(runs, { recursive: true, force: true });
    }
  }, 60_000);
});
