// The Samples view: a fresh grid from a run's latest checkpoint at a temperature and seed, and
// the fixed-seed grids saved during training, browsed by step. Requests are coalesced so a
// dragged slider asks for one grid at a time and always ends on the latest setting.
import { defineStore } from 'pinia';
import type { WeightsInfo } from '../../../preload/api.ts';
import { api } from '../api/index.ts';
import { useAppStore } from './app.ts';

export const useSamplesStore = defineStore('samples', {
  state: () => ({
    runId: null as string | null,
    temperature: 0.7,
    seed: 0,
    n: 36,
    grid: null as string | null,
    /** Images of the grid drawn with values beyond the data range (clipped in it). */
    outOfRange: 0,
    drawing: false,
    pending: false,
    steps: [] as number[],
    stepIndex: 0,
    savedGrid: null as string | null,
    /** Which weights the fresh grid is drawn with (averaged, or last where the checkpoint has none). */
    weights: null as WeightsInfo | null,
  }),
  actions: {
    async open(runId: string) {
      this.runId = runId;
      const r = await api.getRun({ runId });
      if (!r.ok) return useAppStore().fail(r.error);
      this.steps = r.value.sampleSteps;
      this.weights = r.value.weights;
      this.stepIndex = Math.max(0, this.steps.length - 1);
      await Promise.all([this.draw(), this.showSaved()]);
    },
    async draw() {
      if (!this.runId) return;
      if (this.drawing) {
        this.pending = true;
        return;
      }
      this.drawing = true;
      try {
        do {
          this.pending = false;
          const r = await api.sample({ runId: this.runId, n: this.n, temperature: this.temperature, seed: this.seed });
          if (r.ok) {
            this.grid = r.value.image;
            this.outOfRange = r.value.outOfRange;
          } else useAppStore().fail(r.error);
        } while (this.pending);
      } finally {
        this.drawing = false;
      }
    },
    async showSaved() {
      const step = this.steps[this.stepIndex];
      if (!this.runId || step === undefined) {
        this.savedGrid = null;
        return;
      }
      const r = await api.getSampleGrid({ runId: this.runId, step });
      if (r.ok) this.savedGrid = r.value;
    },
  },
});
