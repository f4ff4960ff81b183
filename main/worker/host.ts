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

/**
 * How long a worker asked to shut down may take to finish its step and write a checkpoint
 * before it is killed (the run then resumes from the checkpoint before).
 */
export const SHUTDOWN_GRACE_MS = 120_000;

export class WorkerHost {
  private channel: WorkerChannel | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, (r: Result<unknown>) => void>();
  private readonly listeners = new Set<(e: AppEvent) => void>();
  private trainingRun: string | null = null;
  /** Workers stopped on purpose: their exit is no crash. */
  private readonly retired = new WeakSet<WorkerChannel>();
  /** A worker asked to shut down that has not exited yet: stop() still kills it. */
  private draining: WorkerChannel | null = null;

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

  /** Tells the running worker a person allowed `folder` (a real path); a worker spawned later reads it from allowedRoots(). */
  allowFolder(folder: string): void {
    this.channel?.send({ kind: 'allow-folder', folder });
  }

  /** Process id of the running worker (for diagnostics and crash tests), or null. */
  workerPid(): number | null {
    return this.channel?.pid ?? null;
  }

  /** Kills the worker at once: a run in progress loses the steps since its last checkpoint. */
  stop(): void {
    this.retire()?.kill();
    this.draining?.kill();
  }

  /** Asks the worker to pause its run (writing a checkpoint) and exit; kills it after `graceMs`. */
  async shutdown(graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
    const channel = this.retire();
    if (!channel) return;
    this.draining = channel;
    const exited = new Promise<void>((resolve) => channel.onExit(() => resolve()));
    channel.send({ kind: 'shutdown' });
    const timer = setTimeout(() => channel.kill(), graceMs);
    await exited;
    clearTimeout(timer);
    if (this.draining === channel) this.draining = null;
  }

  /** Takes the worker out of service; calls still waiting on it are answered. */
  private retire(): WorkerChannel | null {
    const channel = this.channel;
    if (!channel) return null;
    this.retired.add(channel);
    this.channel = null;
    this.failPending({ code: 'CANCELLED', message: 'FlowDesk is stopping its compute worker; call again once it has restarted.' });
    return channel;
  }

  private failPending(error: { code: 'CANCELLED' | 'WORKER_CRASHED'; message: string }): void {
    for (const resolve of this.pending.values()) resolve({ ok: false, error });
    this.pending.clear();
  }

  private emit(e: AppEvent): void {
    if (e.type === 'train-start') this.trainingRun = e.runId;
    if (e.type === 'train-stopped') this.trainingRun = null;
    for (const l of this.listeners) l(e);
  }

  private ensure(): WorkerChannel {
    if (this.channel) return this.channel;
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
      if (this.retired.has(channel)) return;
      if (this.channel === channel) this.channel = null;
      const message = `The compute worker stopped unexpectedly (exit code ${code})${detail ? `: ${detail}` : ''}.`;
      this.failPending({ code: 'WORKER_CRASHED', message });
      const runId = this.trainingRun;
      this.trainingRun = null;
      this.emit({ type: 'worker-crashed', message: runId ? `${message} Run ${runId} can be resumed from its last checkpoint.` : message, runId });
    });
    return channel;
  }
}
