// The queue of runs that start one after another: its entries, why it waits, and the last entry
// that could not start. Kept in the runs folder by the worker; this store mirrors its events,
// which the worker sends in order. Answers to changes are not used for the state: in browser mode
// they travel apart from the events (HTTP beside a WebSocket), so an older one could land last.
import { defineStore } from 'pinia';
import type { AppEvent, QueueState, Result } from '../../../preload/api.ts';
import { api } from '../api/index.ts';
import { useAppStore } from './app.ts';
import { useTrainingStore } from './training.ts';

export const useQueueStore = defineStore('queue', {
  // `events` counts the queue events seen, so a refresh's answer never replaces a newer event's state.
  state: (): QueueState & { events: number } => ({ entries: [], waiting: null, failed: null, events: 0 }),
  actions: {
    set(q: QueueState) {
      this.entries = q.entries;
      this.waiting = q.waiting;
      this.failed = q.failed;
    },
    /** A refused change shows as the app's error; a change that worked arrives as an event. */
    report(r: Result<unknown>) {
      if (!r.ok) useAppStore().fail(r.error);
    },
    /** The queue as it is now, unless an event brought a newer state while the answer travelled. */
    async refresh() {
      const seen = this.events;
      const r = await api.listQueue();
      if (r.ok && this.events === seen) this.set(r.value);
      this.report(r);
    },
    /** Queues the Train view's current settings on the Data view's folder. */
    async add() {
      this.report(await api.addToQueue(useTrainingStore().startRequest()));
    },
    async remove(entryId: string) {
      this.report(await api.removeFromQueue({ entryId }));
    },
    async move(entryId: string, index: number) {
      this.report(await api.moveInQueue({ entryId, index }));
    },
    handle(e: AppEvent) {
      if (e.type !== 'queue') return;
      this.events++;
      this.set(e.queue);
    },
  },
});
