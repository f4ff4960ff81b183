// Starts the runs a person queued, one after another, in the worker: the next entry starts when
// a run finishes or fails, when one is added while nothing trains, and at start-up. It waits
// while another process trains a run of the same runs folder, checking again every few seconds.
// An entry that cannot start is reported (`failed`) and the one after it starts.
import type { AppEvent, QueueState, QueuedRun, StartRequest } from '../../preload/api.ts';
import { toAppError } from '../engine/errors.ts';
import { appendToQueue, moveInQueue, readQueue, removeFromQueue, runTrainedElsewhere, takeNextFromQueue, type QueueEntry } from '../engine/runs/run-queue.ts';

/** How often a queue held up by another process's run looks again. */
export const QUEUE_POLL_MS = 5000;

export interface RunQueueOptions {
  runsDir: string;
  emit: (e: AppEvent) => void;
  /** Starts a run; resolves once it trains, rejects when it cannot start. */
  start: (req: StartRequest) => Promise<unknown>;
  /** Whether this worker trains a run now. */
  busy: () => boolean;
  pollMs?: number;
}

const asQueued = (e: QueueEntry): QueuedRun => e as unknown as QueuedRun;

export class RunQueue {
  private waitingFor: string | null = null;
  private failed: QueueState['failed'] = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** advance() calls run one after another, so two never take the same entry. */
  private chain: Promise<void> = Promise.resolve();
  /** Announcements too: each reads the queue after the one before, so the last event is the newest state. */
  private announcing: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: RunQueueOptions) {}

  async state(): Promise<QueueState> {
    const waiting = this.waitingFor && `Run ${this.waitingFor} is training in another process on this runs folder; the queue starts its next run when that one stops.`;
    return { entries: (await readQueue(this.o.runsDir)).map(asQueued), waiting, failed: this.failed };
  }

  async add(req: StartRequest): Promise<QueueState> {
    await appendToQueue(this.o.runsDir, req);
    void this.advance();
    return this.announce();
  }

  async remove(entryId: string): Promise<QueueState> {
    await removeFromQueue(this.o.runsDir, entryId);
    return this.announce();
  }

  async move(entryId: string, index: number): Promise<QueueState> {
    await moveInQueue(this.o.runsDir, entryId, index);
    return this.announce();
  }

  /** Starts the next entry if nothing trains here or elsewhere on this runs folder. */
  advance(): Promise<void> {
    this.chain = this.chain.then(() => this.startNext()).catch((err) => {
      this.failed = { entry: null, error: toAppError(err) };
      void this.announce();
    });
    return this.chain;
  }

  /** No more starts (the worker is shutting down). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async startNext(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (!this.stopped && !this.o.busy()) {
      if ((await readQueue(this.o.runsDir)).length === 0) break;
      this.waitingFor = await runTrainedElsewhere(this.o.runsDir);
      if (this.waitingFor) {
        this.timer = setTimeout(() => void this.advance(), this.o.pollMs ?? QUEUE_POLL_MS);
        this.timer.unref();
        break;
      }
      const entry = await takeNextFromQueue(this.o.runsDir);
      if (!entry) break;
      try {
        await this.o.start({ folder: entry.folder, model: entry.model, train: entry.train } as unknown as StartRequest);
        break;
      } catch (err) {
        this.failed = { entry: asQueued(entry), error: toAppError(err) };
        await this.announce();
      }
    }
    await this.announce();
  }

  private announce(): Promise<QueueState> {
    const next = this.announcing.then(async () => {
      const queue = await this.state();
      this.o.emit({ type: 'queue', queue });
      return queue;
    });
    this.announcing = next.catch(() => undefined);
    return next;
  }
}
