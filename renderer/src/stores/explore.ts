// Latent exploration state: which run and tab, the images a person dropped, and the results of
// reconstruction, interpolation, attribute directions and odd-one-out ranking.
import { defineStore } from 'pinia';
import type { ExportFormat } from '../../../common/export-formats.ts';
import type { ImageSprite, InterpolateResult, RankResult, ReconstructResult, WeightsInfo } from '../../../preload/api.ts';
import { api } from '../api/index.ts';
import { useAppStore } from './app.ts';
import { newJobId, unwrap } from './jobs.ts';
import { useRunsStore } from './runs.ts';

export type ExploreTab = 'reconstruct' | 'interpolate' | 'attributes' | 'restore' | 'classes' | 'rank' | 'export' | 'import';

/** The alpha slider's reach, and the alphas of the strip shown beside it. */
export const ALPHA_RANGE = { min: -2, max: 2, step: 0.1 };
export const STRIP_ALPHAS = [-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2];

export const useExploreStore = defineStore('explore', {
  state: () => ({
    runId: null as string | null,
    /** Which weights the run's model is explored and exported with. */
    weights: null as WeightsInfo | null,
    tab: 'reconstruct' as ExploreTab,
    busy: false,
    reconstructImage: null as string | null,
    reconstruction: null as ReconstructResult | null,
    interpImages: [null, null, null, null] as (string | null)[],
    fourWay: false,
    steps: 8,
    spherical: false,
    temperature: 1,
    interpolation: null as InterpolateResult | null,
    directionName: 'attribute',
    withFolder: '',
    withoutFolder: '',
    /** Jobs of the latest direction and ranking, for their progress and Cancel. */
    directionJob: null as string | null,
    rankJob: null as string | null,
    directions: [] as string[],
    direction: null as string | null,
    attributeImage: null as string | null,
    alpha: 0,
    attributed: null as string | null,
    attributeStrip: null as ImageSprite | null,
    attributePending: false,
    /** An applyDirection loop is running (not `busy`, which any request sets: a slider move
     * during the strip's request must still be applied, by this loop or a new one). */
    attributing: false,
    rankFolder: '',
    ranking: null as RankResult | null,
    exportFolder: '',
    importFolder: '',
    notice: null as string | null,
  }),
  actions: {
    async open(runId: string) {
      const weights = (await unwrap(api.getRun({ runId })))?.weights ?? null;
      const directions = (await unwrap(api.listDirections({ runId }))) ?? [];
      // Changed together: the attribute watcher must never see the new run with the old run's direction.
      this.runId = runId;
      this.weights = weights;
      this.directions = directions;
      this.direction = directions.includes(this.direction ?? '') ? this.direction : (directions[0] ?? null);
    },
    /** A notice belongs to the tab that raised it: switching tabs clears it. */
    show(tab: ExploreTab) {
      this.tab = tab;
      this.notice = null;
    },
    /** Opens an image (from the projector) in the Reconstruct tab and reconstructs it. */
    async openImage(runId: string, image: string) {
      if (this.runId !== runId) await this.open(runId);
      this.show('reconstruct');
      this.reconstructImage = image;
      this.reconstruction = null;
      await this.reconstruct();
    },
    async run<T>(work: () => Promise<T>): Promise<T> {
      this.busy = true;
      try {
        return await work();
      } finally {
        this.busy = false;
      }
    },
    async reconstruct() {
      if (!this.runId || !this.reconstructImage) return;
      this.reconstruction = await this.run(() => unwrap(api.reconstruct({ runId: this.runId!, image: this.reconstructImage! })));
    },
    async interpolate() {
      const images = this.interpImages.slice(0, this.fourWay ? 4 : 2);
      if (!this.runId || images.some((i) => !i)) return useAppStore().fail({ code: 'BAD_ARGUMENT', message: `Drop ${this.fourWay ? 'four' : 'two'} images first.` });
      this.interpolation = await this.run(() => unwrap(api.interpolate({ runId: this.runId!, images: images as string[], steps: this.steps, spherical: this.spherical, temperature: this.temperature })));
    },
    async computeDirection() {
      if (!this.runId) return;
      const jobId = (this.directionJob = newJobId());
      const r = await this.run(() => unwrap(api.computeDirection({ runId: this.runId!, name: this.directionName, withFolder: this.withFolder, withoutFolder: this.withoutFolder, jobId })));
      if (!r) return;
      this.notice = `Direction "${r.name}" from ${r.withCount} images with the attribute and ${r.withoutCount} without, saved with the run.`;
      await this.open(this.runId);
      this.direction = r.name;
    },
    /** Live as the alpha slider moves: one request at a time, ending on the latest alpha. */
    async applyDirection() {
      if (!this.runId || !this.direction || !this.attributeImage) return;
      if (this.attributing) {
        this.attributePending = true;
        return;
      }
      this.attributing = true;
      try {
        await this.run(async () => {
          do {
            this.attributePending = false;
            const r = await unwrap(api.applyDirection({ runId: this.runId!, image: this.attributeImage!, direction: this.direction!, alpha: this.alpha }));
            if (r) this.attributed = r;
          } while (this.attributePending);
        });
      } finally {
        this.attributing = false;
      }
    },
    /**
     * As soon as a run, a direction and an image exist: the image at the slider's alpha and a
     * strip over STRIP_ALPHAS, so nothing waits for the slider to move.
     */
    async showAttribute() {
      if (!this.runId || !this.direction || !this.attributeImage) {
        this.attributed = null;
        this.attributeStrip = null;
        return;
      }
      const req = { runId: this.runId, image: this.attributeImage, direction: this.direction };
      await this.applyDirection();
      this.attributeStrip = await this.run(() => unwrap(api.directionStrip({ ...req, alphas: STRIP_ALPHAS })));
    },
    async rank() {
      if (!this.runId) return;
      const jobId = (this.rankJob = newJobId());
      this.ranking = await this.run(() => unwrap(api.rankFolder({ runId: this.runId!, folder: this.rankFolder, jobId })));
    },
    rankingCsv(): string {
      const rows = (this.ranking?.images ?? []).map((r) => `"${r.path.replace(/"/g, '""')}",${r.bpd}`);
      return ['path,bpd', ...rows].join('\n') + '\n';
    },
    /** Writes the run's model into `exportFolder`: FlowDesk's own files, or ONNX (sample.onnx, encode.onnx, README.md). */
    async exportModel(format: ExportFormat = 'flowdesk') {
      if (!this.runId) return;
      const files = await this.run(() => unwrap(api.exportModel({ runId: this.runId!, folder: this.exportFolder, format })));
      if (files) this.notice = `Exported ${files.join(' and ')}.`;
    },
    /** Imports `importFolder` (a model export, or a PyTorch package that train.py continued) and opens the new run here. */
    async importModel() {
      const r = await this.run(() => unwrap(api.importModel({ folder: this.importFolder })));
      if (!r) return null;
      // Listed first, so the model menu has the run it is set to.
      await useRunsStore().refresh();
      await this.open(r.runId);
      const from = r.continuedFrom;
      this.notice = from ? `Imported as run ${r.runId}, continued in PyTorch from run ${from.run} at step ${from.step}.` : `Imported as run ${r.runId}.`;
      return r;
    },
  },
});
