// Every run on disk with its settings, results, name and notes; the runs a person overlays
// (their train and validation curves, each run with a colour of its own); the trash. While the
// Runs view is open, runs that train (here or from the CLI) are polled so table and curves stay live.
import { defineStore } from 'pinia';
import { markRaw } from 'vue';
import type { MetricRow, RunSummary, TrashEntry } from '../../../preload/api.ts';
import { api } from '../api/index.ts';
import { useAppStore } from './app.ts';
import type { CurvePoint } from './training.ts';

/** How often a training run's row and curves are refreshed while the Runs view is open. */
export const LIVE_POLL_MS = 2000;
/** Overlay colours, handed out in order of ticking; one run keeps its colour while ticked. */
export const RUN_PALETTE = ['#4f5bd5', '#2e8b57', '#d9822b', '#c0392b', '#8e44ad', '#16a085', '#b8860b', '#7f8c8d'];

export interface OverlayCurves {
  color: string;
  loading: boolean;
  train: CurvePoint[];
  val: CurvePoint[];
}

function curvesOf(metrics: MetricRow[]): Pick<OverlayCurves, 'train' | 'val'> {
  // Raw arrays: the chart reads them whole, and reactive proxies per point would cost more than the curve.
  const train = metrics.filter((m) => m.type === 'train' && m.loss !== undefined).map((m) => ({ step: m.step, time: m.time, value: m.loss! }));
  const val = metrics.filter((m) => m.type === 'eval' && m.valBpd !== undefined).map((m) => ({ step: m.step, time: m.time, value: m.valBpd! }));
  return { train: markRaw(train), val: markRaw(val) };
}

export const useRunsStore = defineStore('runs', {
  state: () => ({
    runs: [] as RunSummary[],
    loading: false,
    overlay: {} as Record<string, OverlayCurves>,
    trash: [] as TrashEntry[],
    /** A sentence about the last delete or restore, with the id an Undo restores. */
    lastDeleted: null as string | null,
  }),
  getters: {
    byId: (s) => (id: string) => s.runs.find((r) => r.id === id),
  },
  actions: {
    async refresh() {
      this.loading = true;
      try {
        const [r, t] = await Promise.all([api.listRuns(), api.listTrash()]);
        if (r.ok) this.runs = r.value;
        else useAppStore().fail(r.error);
        if (t.ok) this.trash = t.value;
      } finally {
        this.loading = false;
      }
    },
    async toggleOverlay(runId: string) {
      if (this.overlay[runId]) {
        delete this.overlay[runId];
        return;
      }
      const used = new Set(Object.values(this.overlay).map((o) => o.color));
      const color = RUN_PALETTE.find((c) => !used.has(c)) ?? RUN_PALETTE[Object.keys(this.overlay).length % RUN_PALETTE.length];
      this.overlay[runId] = { color, loading: true, train: [], val: [] };
      await this.loadCurves(runId);
    },
    async loadCurves(runId: string) {
      if (this.overlay[runId]) this.overlay[runId].loading = true;
      const r = await api.getRun({ runId });
      const slot = this.overlay[runId];
      if (!slot) return; // unticked while loading
      if (!r.ok) {
        delete this.overlay[runId];
        return useAppStore().fail(r.error);
      }
      Object.assign(slot, curvesOf(r.value.metrics), { loading: false });
    },
    /** One poll: the list again, and the curves of overlaid runs that were training or moved on. */
    async poll() {
      const before = new Map(this.runs.map((r) => [r.id, r.step]));
      const r = await api.listRuns();
      if (!r.ok) return;
      this.runs = r.value;
      // A curve still loading is not asked for again: a long run's metrics take a while to read.
      const moved = r.value.filter((run) => this.overlay[run.id] && !this.overlay[run.id].loading && before.get(run.id) !== run.step);
      await Promise.all(moved.map((run) => this.loadCurves(run.id)));
    },
    async setInfo(runId: string, change: { name?: string; notes?: string }) {
      const r = await api.setRunInfo({ runId, ...change });
      if (!r.ok) return useAppStore().fail(r.error);
      const run = this.byId(runId);
      if (run) {
        delete run.name;
        delete run.notes;
        Object.assign(run, r.value);
      }
    },
    async remove(runId: string) {
      const r = await api.deleteRun({ runId });
      if (!r.ok) return useAppStore().fail(r.error);
      delete this.overlay[runId];
      this.lastDeleted = runId;
      await this.refresh();
    },
    async restore(runId: string) {
      const r = await api.restoreRun({ runId });
      if (!r.ok) return useAppStore().fail(r.error);
      if (this.lastDeleted === runId) this.lastDeleted = null;
      await this.refresh();
    },
  },
});
