// The Samples view: a fresh grid from a run's latest checkpoint at a temperature and seed (for a
// class-conditional run, of one class or a row per class, with a guidance weight where the model
// takes one), and the fixed-seed grids saved during training, browsed by step. Requests are
// coalesced so a dragged slider asks for one grid at a time and always ends on the latest setting.
import { defineStore } from 'pinia';
import { ALL_CLASSES, GUIDANCE, SAMPLE_GRID_MAX, takesGuidance } from '../../../common/class-sampling.ts';
import type { ModelKind, SampleRequest, WeightsInfo } from '../../../preload/api.ts';
import { api } from '../api/index.ts';
import { useAppStore } from './app.ts';

/** Images in each class's row when a grid shows every class (fewer where so many classes would pass SAMPLE_GRID_MAX). */
export const IMAGES_PER_CLASS = 8;

export const useSamplesStore = defineStore('samples', {
  state: () => ({
    runId: null as string | null,
    temperature: 0.7,
    seed: 0,
    n: 36,
    grid: null as string | null,
    /** Images drawn in the grid. */
    drawn: 0,
    /** Images of the grid drawn with values beyond the data range (clipped in it). */
    outOfRange: 0,
    drawing: false,
    pending: false,
    steps: [] as number[],
    stepIndex: 0,
    savedGrid: null as string | null,
    /** Which weights the fresh grid is drawn with (averaged, or last where the checkpoint has none). */
    weights: null as WeightsInfo | null,
    /** The run's model family (whether it takes a guidance weight). */
    kind: null as ModelKind | null,
    /** A class-conditional run's class names; empty for an unconditional one. */
    classes: [] as string[],
    /** The class drawn, or ALL_CLASSES for a row of each. */
    className: ALL_CLASSES as string,
    guidance: GUIDANCE.default as number,
    /** The class of each row of the grid, when it shows every class. */
    rowLabels: [] as string[],
  }),
  getters: {
    guided: (s) => s.classes.length > 0 && s.kind !== null && takesGuidance(s.kind),
  },
  actions: {
    async open(runId: string) {
      this.runId = runId;
      const r = await api.getRun({ runId });
      if (!r.ok) return useAppStore().fail(r.error);
      this.steps = r.value.sampleSteps;
      this.weights = r.value.weights;
      this.kind = r.value.summary.model.kind;
      this.classes = r.value.classes;
      if (!this.classes.includes(this.className)) this.className = ALL_CLASSES;
      this.stepIndex = Math.max(0, this.steps.length - 1);
      await Promise.all([this.draw(), this.showSaved()]);
    },
    /** What a fresh grid asks for: a class and guidance only for a conditional run. */
    request(runId: string): SampleRequest {
      const base = { runId, temperature: this.temperature, seed: this.seed };
      if (this.classes.length === 0) return { ...base, n: this.n };
      const all = this.className === ALL_CLASSES;
      const perClass = Math.max(1, Math.min(IMAGES_PER_CLASS, Math.floor(SAMPLE_GRID_MAX / this.classes.length)));
      return { ...base, n: all ? perClass : this.n, className: this.className, ...(this.guided ? { guidance: this.guidance } : {}) };
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
          const r = await api.sample(this.request(this.runId));
          if (r.ok) {
            this.grid = r.value.image;
            this.drawn = r.value.n;
            this.outOfRange = r.value.outOfRange;
            this.rowLabels = r.value.rowLabels ?? [];
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
