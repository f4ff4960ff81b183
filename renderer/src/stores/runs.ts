// Every run on disk with its settings and last validation bits per dim, and the curves of the
// runs a person chose to overlay.
import { defineStore } from 'pinia';
import type { RunSummary } from '../../../preload/api.ts';
import { api } from '../api/index.ts';
import { useAppStore } from './app.ts';
import type { CurvePoint } from './training.ts';

export const useRunsStore = defineStore('runs', {
  state: () => ({
    runs: [] as RunSummary[],
    loading: false,
    overlay: {} as Record<string, CurvePoint[]>,
  }),
  actions: {
    async refresh() {
      this.loading = true;
      try {
        const r = await api.listRuns();
        if (r.ok) this.runs = r.value;
        else useAppStore().fail(r.error);
      } finally {
        this.loading = false;
      }
    },
    async toggleOverlay(runId: string) {
      if (this.overlay[runId]) {
        delete this.overlay[runId];
        return;
      }
      const r = await api.getRun({ runId });
      if (!r.ok) return useAppStore().fail(r.error);
      this.overlay[runId] = r.value.metrics.filter((m) => m.type === 'eval' && m.valBpd !== undefined).map((m) => ({ step: m.step, time: m.time, value: m.valBpd! }));
    },
  },
});
