// The queue of runs that start one after another: its entries, why it waits, and the last entry
// that could not start. Kept in the runs folder by the worker; this store mirrors its events.
import { defineStore } from 'pinia';
import type { AppEvent, QueueState, Result } from '../../../preload/api.ts';
import { api } from '../api/index.ts';
import { useAppStore } from './app.ts';
import { useTrainingStore } from './training.ts';

export const useQueueStore = defineStore('queue', {
  state: (): QueueState => ({ entries: [], waiting: null, failed: null }),
  actions: {
    set(q: QueueState) {
      this.entries = q.entries;
      this.waiting = q.waiting;
      this.failed = q.failed;
    },
    take(r: Result<QueueState>) {
      if (r.ok) this.set(r.value);
      else useAppStore().fail(r.error);
    },
    async refresh() {
      this.take(await api.listQueue());
    },
    /** Queues the Train view's current settings on the Data view's folder. */
    async add() {
      this.take(await api.addToQueue(useTrainingStore().startRequest()));
    },
    async remove(entryId: string) {
      this.take(await api.removeFromQueue({ entryId }));
    },
    async move(entryId: string, index: number) {
      this.take(await api.moveInQueue({ entryId, index }));
    },
    handle(e: AppEvent) {
      if (e.type === 'queue') this.set(e.queue);
    },
  },
});
