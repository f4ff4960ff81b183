// The worker host: starts the worker process, routes numbered calls to it, fans its events out
// to listeners, and when it dies unexpectedly fails the pending calls, reports the crash with
// the run it was training, and starts a fresh worker on the next call.
import type { AppEvent, Result } from '../../preload/api.ts';
import type { HostMessage, WorkerMessage, WorkerMethod } from './protocol.ts';

export interface WorkerChannel {
  send(message: HostMessage): void;
  onMessage(listener: (message: WorkerMessage) => void): void;
  /** `detail` is the last lines the worker wrote to stderr, if any. */
  onExit(listener: (code: number | null, detail: string) => void): void;
  kill(): void;
  /** The worker's process id, where the platform gives one. */
  readonly pid?: number;
}

export type SpawnWorker = () => WorkerChannel;

export class WorkerHost {
  private channel: WorkerChannel | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, (r: Result<unknown>) => void>();
  private readonly listeners = new Set<(e: AppEvent) => void>();
  private trainingRun: string | null = null;
  private stopping = false;

  constructor(private readonly spawn: SpawnWorker) {}

  call<T>(method: WorkerMethod, arg?: unknown): Promise<Result<T>> {
    const channel = this.ensure();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve as (r: Result<unknown>) => void);
      channel.send({ kind: 'call', id, method, arg: arg ?? null });
    });
  }

  onEvent(listener: (e: AppEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Process id of the running worker (for diagnostics and crash tests), or null. */
  workerPid(): number | null {
    return this.channel?.pid ?? null;
  }

  stop(): void {
    this.stopping = true;
    this.channel?.kill();
    this.channel = null;
  }

  private emit(e: AppEvent): void {
    if (e.type === 'train-start') this.trainingRun = e.runId;
    if (e.type === 'train-stopped') this.trainingRun = null;
    for (const l of this.listeners) l(e);
  }

  private ensure(): WorkerChannel {
    if (this.channel) return this.channel;
    this.stopping = false;
    const channel = this.spawn();
    this.channel = channel;
    channel.onMessage((m) => {
      if (m.kind === 'result') {
        this.pending.get(m.id)?.(m.result);
        this.pending.delete(m.id);
      } else if (m.kind === 'event') {
        this.emit(m.event);
      }
    });
    channel.onExit((code, detail) => {
      if (this.channel === channel) this.channel = null;
      if (this.stopping) return;
      const message = `The compute worker stopped unexpectedly (exit code ${code})${detail ? `: ${detail}` : ''}.`;
      for (const resolve of this.pending.values()) resolve({ ok: false, error: { code: 'WORKER_CRASHED', message } });
      this.pending.clear();
      const runId = this.trainingRun;
      this.trainingRun = null;
      this.emit({ type: 'worker-crashed', message: runId ? `${message} Run ${runId} can be resumed from its last checkpoint.` : message, runId });
    });
    return channel;
  }
}
