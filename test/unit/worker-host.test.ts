// The worker host: calls are routed and answered by id, and when the worker dies pending calls
// fail with WORKER_CRASHED, a crash event names the run it was training, and the next call
// starts a fresh worker.
import { describe, expect, it } from 'vitest';
import type { AppEvent } from '../../preload/api.ts';
import { WorkerHost, type WorkerChannel } from '../../main/worker/host.ts';
import type { HostMessage, WorkerMessage } from '../../main/worker/protocol.ts';

function fakeWorker() {
  const spawned: { sent: HostMessage[]; reply: (m: WorkerMessage) => void; die: (code: number, detail: string) => void; killed: boolean }[] = [];
  const spawn = (): WorkerChannel => {
    let onMessage: (m: WorkerMessage) => void = () => undefined;
    let onExit: (code: number | null, detail: string) => void = () => undefined;
    const w = { sent: [] as HostMessage[], reply: (m: WorkerMessage) => onMessage(m), die: (c: number, d: string) => onExit(c, d), killed: false };
    spawned.push(w);
    return {
      send: (m) => w.sent.push(m),
      onMessage: (l) => (onMessage = l),
      onExit: (l) => (onExit = l),
      kill: () => (w.killed = true),
    };
  };
  return { spawn, spawned };
}

describe('WorkerHost', () => {
  it('routes calls and events, and recovers from a crash', async () => {
    const { spawn, spawned } = fakeWorker();
    const host = new WorkerHost(spawn);
    const events: AppEvent[] = [];
    host.onEvent((e) => events.push(e));

    const listed = host.call('listRuns');
    const call = spawned[0].sent[0] as Extract<HostMessage, { kind: 'call' }>;
    spawned[0].reply({ kind: 'result', id: call.id, result: { ok: true, value: [] } });
    expect(await listed).toEqual({ ok: true, value: [] });

    spawned[0].reply({ kind: 'event', event: { type: 'train-start', runId: 'r9', step: 0, totalSteps: 5, backend: 'wasm', resumed: false } });
    const pending = host.call('sample', { runId: 'r9', n: 1, temperature: 1, seed: 0 });
    spawned[0].die(137, 'RuntimeError: memory access out of bounds');
    const failed = await pending;
    expect(failed.ok).toBe(false);
    expect(!failed.ok && failed.error.code).toBe('WORKER_CRASHED');
    expect(!failed.ok && failed.error.message).toMatch(/exit code 137.*memory access out of bounds/);
    const crash = events.at(-1);
    expect(crash).toMatchObject({ type: 'worker-crashed', runId: 'r9' });
    expect((crash as { message: string }).message).toMatch(/Run r9 can be resumed from its last checkpoint/);

    void host.call('listRuns');
    expect(spawned).toHaveLength(2);
    host.stop();
    expect(spawned[1].killed).toBe(true);
    spawned[1].die(0, '');
    expect(events.filter((e) => e.type === 'worker-crashed')).toHaveLength(1);
  });

  it('shuts the worker down by asking it to checkpoint and exit, killing it only after the grace time', async () => {
    const { spawn, spawned } = fakeWorker();
    const host = new WorkerHost(spawn);
    const events: AppEvent[] = [];
    host.onEvent((e) => events.push(e));
    const waiting = host.call('listRuns');
    const done = host.shutdown(50);
    expect(spawned[0].sent.at(-1)).toEqual({ kind: 'shutdown' });
    expect(await waiting).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    spawned[0].die(0, '');
    await done;
    expect(spawned[0].killed).toBe(false);
    expect(events.filter((e) => e.type === 'worker-crashed')).toHaveLength(0);

    void host.call('listRuns');
    const slow = host.shutdown(20);
    await new Promise((r) => setTimeout(r, 60));
    expect(spawned[1].killed).toBe(true);
    spawned[1].die(null as unknown as number, 'killed by SIGTERM');
    await slow;
    expect(events.filter((e) => e.type === 'worker-crashed')).toHaveLength(0);

    // Stopping while a shutdown waits kills the worker at once (a second Ctrl-C).
    void host.call('listRuns');
    const waited = host.shutdown(60_000);
    host.stop();
    expect(spawned[2].killed).toBe(true);
    spawned[2].die(null as unknown as number, 'killed by SIGTERM');
    await waited;
  });
});
