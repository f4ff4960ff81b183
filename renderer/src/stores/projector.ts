// The latent projector's state: which run, its map of validation images (encoded, scored and
// laid out on two principal axes by the worker), and the image the pointer is over.
import { defineStore } from 'pinia';
import type { Projection } from '../../../preload/api.ts';
import { api } from '../api/index.ts';
import { cropSprite } from '../sprite.ts';
import { useAppStore } from './app.ts';
import { useExploreStore } from './explore.ts';
import { newJobId, wasCancelled } from './jobs.ts';

export const useProjectorStore = defineStore('projector', {
  state: () => ({
    runId: null as string | null,
    projection: null as Projection | null,
    /** The run the shown projection belongs to (the menu may already name another). */
    projectedRun: null as string | null,
    busy: false,
    /** The job of the map being made (its progress and Cancel), null when none. */
    job: null as string | null,
    hovered: null as number | null,
  }),
  actions: {
    async project() {
      if (!this.runId || this.busy) return;
      const runId = this.runId;
      this.busy = true;
      this.job = newJobId();
      try {
        const r = await api.projectLatents({ runId, jobId: this.job });
        if (!r.ok) {
          if (!wasCancelled(r.error)) useAppStore().fail(r.error);
          return;
        }
        this.projection = r.value;
        this.projectedRun = runId;
        this.hovered = null;
      } finally {
        this.busy = false;
      }
    },
    /** Opens point `i` in Explore's Reconstruct tab. */
    async openInExplore(i: number) {
      if (!this.projection || !this.projectedRun) return;
      const image = await cropSprite(this.projection.thumbnails, i);
      useAppStore().show('explore');
      await useExploreStore().openImage(this.projectedRun, image);
    },
  },
});
