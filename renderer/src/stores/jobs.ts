// Long calls (import, direction, ranking) as jobs: the page names each call's job, the worker's
// `job` events report its progress here, and Cancel asks the worker to stop it (the call then
// answers CANCELLED, which the views show as cancelled, not as an error).
import { defineStore } from 'pinia';
import type { AppError, AppEvent, JobProgress, Result } from '../../../preload/api.ts';
import { api } from '../api/index.ts';
import { useAppStore } from './app.ts';

/** A fresh job id: random, and within the Api's rule (letters, digits, dashes; at most 64). */
export function newJobId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A call that answered CANCELLED was stopped on purpose: say so where it ran, not as an error. */
export function wasCancelled(error: AppError): boolean {
  return error.code === 'CANCELLED';
}

/** A call's value, or null after its error is shown (a cancel is shown where it ran, by JobProgress). */
export async function unwrap<T>(p: Promise<Result<T>>): Promise<T | null> {
  const r = await p;
  if (r.ok) return r.value;
  if (!wasCancelled(r.error)) useAppStore().fail(r.error);
  return null;
}

export const useJobsStore = defineStore('jobs', {
  state: () => ({
    /** The latest news of every job this page started or saw, by id. */
    jobs: {} as Record<string, JobProgress>,
  }),
  actions: {
    handle(e: AppEvent) {
      if (e.type === 'job') this.jobs[e.job.id] = e.job;
    },
    async cancel(id: string) {
      const r = await api.cancelJob({ jobId: id });
      if (!r.ok) useAppStore().fail(r.error);
    },
  },
});
