// Requests a person waits on come first: training shares the worker (and every core) with the
// Api, so while a sample grid, a reconstruction, an interpolation, an attribute edit or a change of class runs,
// and for a moment after it (a dragged slider asks again right away), the trainer holds before
// its next step (it awaits `idle()`), and resumes once none has run for that moment.
import type { Dispatch } from './dispatch.ts';
import type { WorkerMethod } from './protocol.ts';

/** Calls a person waits on with a slider or button in hand: they pause training between steps. */
const INTERACTIVE_CALLS: ReadonlySet<WorkerMethod> = new Set<WorkerMethod>(['sample', 'reconstruct', 'interpolate', 'applyDirection', 'changeClass']);

/**
 * How long training still holds after the last interactive call ends: the next request of a
 * drag or a series of clicks then finds no step in progress to wait for.
 */
export const INTERACTIVE_LINGER_MS = 1000;

export class InteractiveGate {
  private running = 0;
  private lastEnd = -Infinity;
  private waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly lingerMs = INTERACTIVE_LINGER_MS) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.lastEnd = Date.now();
      this.wakeWhenIdle();
    }
  }

  /** Resolves at once when no interactive call runs or has just ended, else once that is so. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.wakeWhenIdle();
    });
  }

  private isIdle(): boolean {
    return this.running === 0 && Date.now() - this.lastEnd >= this.lingerMs;
  }

  private wakeWhenIdle(): void {
    if (this.running > 0 || this.waiters.length === 0 || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.isIdle()) return this.wakeWhenIdle();
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }, Math.max(0, this.lastEnd + this.lingerMs - Date.now()));
  }
}

/** The dispatch with interactive calls run through the gate. */
export function interactiveFirst(dispatch: Dispatch, gate: InteractiveGate): Dispatch {
  return (method, arg) => (INTERACTIVE_CALLS.has(method as WorkerMethod) ? gate.run(() => dispatch(method, arg)) : dispatch(method, arg));
}
