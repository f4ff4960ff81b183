// Explore's Restore and Class tabs: the image, upscale factor or the mask drawn over it, the restore
// settings (declared in common/restore-fields.ts), the job that runs it and its result; a run's classes and the class strip.
import { defineStore } from 'pinia';
import { restoreDefaults } from '../../../common/restore-fields.ts';
import type { ChangeClassResult, MaskBits, RestoreRequest, RestoreResult, UpscaleFactor } from '../../../preload/api.ts';
import { api } from '../api/index.ts';
import { newJobId, unwrap } from './jobs.ts';

export type RestoreMode = 'upscale' | 'inpaint';

export const useRestoreStore = defineStore('restore', {
  state: () => ({
    /** The run the classes below are of. */
    runId: null as string | null,
    mode: 'inpaint' as RestoreMode,
    factor: 2 as UpscaleFactor,
    image: null as string | null,
    /** The hole drawn with the brush, at the model's size; null while nothing is painted. */
    mask: null as MaskBits | null,
    settings: restoreDefaults(),
    /** The latest restoration's job, for its progress and Cancel. */
    job: null as string | null,
    running: false,
    result: null as RestoreResult | null,
    /** The run's class names ([] for an unconditional run), null until read. */
    classes: null as string[] | null,
    classImage: null as string | null,
    fromClass: null as string | null,
    classTemperature: 1,
    changing: false,
    changed: null as ChangeClassResult | null,
  }),
  actions: {
    /** A new run: its classes, and nothing shown that another model made. */
    async open(runId: string) {
      if (this.runId === runId) return;
      this.runId = runId;
      this.result = null;
      this.changed = null;
      this.classes = null;
      this.classes = (await unwrap(api.listClasses({ runId }))) ?? [];
      if (!this.classes.includes(this.fromClass ?? '')) this.fromClass = this.classes[0] ?? null;
    },
    async restore() {
      if (!this.runId || !this.image || this.running) return;
      if (this.mode === 'inpaint' && !this.mask) return;
      const jobId = (this.job = newJobId());
      const common = { runId: this.runId, image: this.image, settings: { ...this.settings }, jobId };
      const req: RestoreRequest = this.mode === 'upscale' ? { ...common, mode: 'upscale', factor: this.factor } : { ...common, mode: 'inpaint', mask: this.mask! };
      this.running = true;
      try {
        const r = await unwrap(api.restore(req));
        if (r) this.result = r;
      } finally {
        this.running = false;
      }
    },
    async changeClass() {
      if (!this.runId || !this.classImage || !this.fromClass) return;
      this.changing = true;
      try {
        this.changed = await unwrap(api.changeClass({ runId: this.runId, image: this.classImage, from: this.fromClass, to: 'all', temperature: this.classTemperature }));
      } finally {
        this.changing = false;
      }
    },
  },
});
