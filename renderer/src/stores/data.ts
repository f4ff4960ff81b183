// The Data view's state: which folder (or the bundled digits), at what size and channels, and
// the import report once the worker has read it.
import { defineStore } from 'pinia';
import type { ImportSummary } from '../../../preload/api.ts';
import { api } from '../api/index.ts';
import { useAppStore } from './app.ts';
import { newJobId, wasCancelled } from './jobs.ts';

export const useDataStore = defineStore('data', {
  state: () => ({
    /** null means the bundled digits. */
    folder: null as string | null,
    size: 16,
    channels: 1 as 1 | 3,
    importing: false,
    /** The job of the import in progress (or the last one, whose end JobProgress shows). */
    importJob: null as string | null,
    summary: null as ImportSummary | null,
  }),
  actions: {
    useBundled() {
      this.folder = null;
      this.size = 16;
      this.channels = 1;
    },
    useFolder(path: string) {
      this.folder = path.trim() || null;
      if (this.folder !== null && this.summary?.bundled) {
        // A person's own pictures are usually colour; they can switch back.
        this.size = 32;
        this.channels = 3;
      }
    },
    async choose() {
      const r = await api.chooseFolder();
      if (r.ok && r.value) this.useFolder(r.value);
    },
    async load(): Promise<boolean> {
      this.importing = true;
      this.importJob = newJobId();
      try {
        const r = await api.importFolder({ folder: this.folder, size: this.size, channels: this.channels, jobId: this.importJob });
        if (!r.ok) {
          if (!wasCancelled(r.error)) useAppStore().fail(r.error);
          return false;
        }
        this.summary = r.value;
        return true;
      } finally {
        this.importing = false;
      }
    },
  },
});
