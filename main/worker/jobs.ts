// Long calls as jobs: each reports its progress as `job` events (done, total, rate, ETA; at most
// ~10 a second, and always when it ends) and can be cancelled by id while the call waits. The
// engine stays job-agnostic: the work gets a progress callback and an AbortSignal.
import { randomUUID } from 'node:crypto';
import type { AppEvent, JobKind, JobProgress, JobState } from '../../preload/api.ts';
import { FlowDeskError, toAppError } from '../engine/errors.ts';
import type { Progress } from '../engine/progress.ts';

export interface JobSpec {
  /** The id the request carried; a fresh one when it carried none (the job is still reported). */
  id?: string;
  kind: JobKind;
  label: string;
  total: number | null;
}

/** Reports how far the work got; `total` changes what is being counted toward (null: not known yet). */
export type JobProgressFn = (done: number, total?: number | null) => void;

/** An engine Progress listener that feeds a job; a total of 0 (a folder still being scanned) is not known yet. */
export function engineProgress(progress: JobProgressFn): (p: Progress) => void {
  return (p) => progress(p.done, p.total || null);
}

/** The shortest gap between two progress events of one job (~10 a second). */
const EMIT_INTERVAL_MS = 100;

const running = new Map<string, AbortController>();

export async function runJob<T>(
  emit: (e: AppEvent) => void,
  spec: JobSpec,
  work: (progress: JobProgressFn, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const id = spec.id ?? randomUUID();
  if (running.has(id)) throw new FlowDeskError('BAD_ARGUMENT', `Job ${id} is already running; give each call its own jobId.`);
  const controller = new AbortController();
  running.set(id, controller);
  const started = Date.now();
  let done = 0;
  let total = spec.total;
  let last = 0;
  const send = (state: JobState, error?: JobProgress['error']) => {
    const seconds = (Date.now() - started) / 1000;
    const rate = done > 0 && seconds > 0 ? done / seconds : null;
    const eta = rate !== null && total !== null ? Math.max(total - done, 0) / rate : null;
    emit({ type: 'job', job: { id, kind: spec.kind, label: spec.label, done, total, rate, eta, state, ...(error ? { error } : {}) } });
  };
  const progress: JobProgressFn = (d, t) => {
    done = d;
    if (t !== undefined) total = t;
    const now = Date.now();
    if (now - last < EMIT_INTERVAL_MS) return;
    last = now;
    send('running');
  };
  send('running');
  try {
    const value = await work(progress, controller.signal);
    // Work that finished in spite of a cancel is thrown away: the caller asked for nothing.
    if (controller.signal.aborted) throw cancelled(spec.label);
    send('done');
    return value;
  } catch (err) {
    if (controller.signal.aborted) {
      const error = cancelled(spec.label);
      send('cancelled', toAppError(error));
      throw error;
    }
    send('failed', toAppError(err));
    throw err;
  } finally {
    running.delete(id);
  }
}

function cancelled(label: string): FlowDeskError {
  return new FlowDeskError('CANCELLED', `${label} was cancelled; nothing was kept.`);
}

/** Asks the job to stop; its call then answers CANCELLED. An unknown or finished job is ignored. */
export function cancelJob(id: string): void {
  running.get(id)?.abort();
}
