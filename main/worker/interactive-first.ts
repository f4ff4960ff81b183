// Requests a person waits on come first: training shares the worker (and every core) with the
// Api, so while a sample grid, a reconstruction, an interpolation or an attribute edit runs,
// the trainer holds before its next step (it awaits `idle()`), and resumes when none is left.
import type { Dispatch } from './dispatch.ts';
import type { WorkerMethod } from './protocol.ts';

/** Calls a person waits on with a slider or button in hand: they pause training between steps. */
const INTERACTIVE_CALLS: ReadonlySet<WorkerMethod> = new Set<WorkerMethod>(['sample', 'reconstruct', 'interpolate', 'applyDirection']);

export class InteractiveGate {
  private running = 0;
  private waiters: (() => void)[] = [];

  async run<T>(work: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await work();
    } finally {
      if (--this.running === 0) {
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
      }
    }
  }

  /** Resolves at once when no interactive call runs, else when the last one ends. */
  idle(): Promise<void> {
    return this.running === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** The dispatch with interactive calls run through the gate. */
export function interactiveFirst(dispatch: Dispatch, gate: InteractiveGate): Dispatch {
  return (method, arg) => (INTERACTIVE_CALLS.has(method as WorkerMethod) ? gate.run(() => dispatch(method, arg)) : dispatch(method, arg));
}
