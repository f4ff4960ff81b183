// One progress type for every long task (import, training, ranking, export): done, total,
// rate and ETA, throttled so a UI redraws at most ~10 times a second.

export interface Progress {
  /** What is being done, for a person. */
  message: string;
  done: number;
  total: number;
  /** Units per second over the task so far. */
  rate: number;
  /** Seconds left at the current rate, or null while unknown. */
  eta: number | null;
}

export type ProgressListener = (p: Progress) => void;

/** Wraps a listener so it fires at most once per `intervalMs`, plus always on completion. */
export function throttledProgress(
  listener: ProgressListener | undefined,
  total: number,
  message: string,
  intervalMs = 100,
): (done: number, msg?: string) => void {
  const start = Date.now();
  let last = 0;
  return (done: number, msg?: string) => {
    if (!listener) return;
    const now = Date.now();
    if (done < total && now - last < intervalMs) return;
    last = now;
    const seconds = Math.max((now - start) / 1000, 1e-6);
    const rate = done / seconds;
    const eta = rate > 0 && total > 0 ? Math.max(total - done, 0) / rate : null;
    listener({ message: msg ?? message, done, total, rate, eta });
  };
}

/** Throws a CANCELLED error if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) {
    throw Object.assign(new Error(`${what} was cancelled.`), { code: 'CANCELLED' });
  }
}
