// The Data view's state: which folder (or the bundled digits), at what size and channels, with
// classes from sub-folders or not, and the import report once the worker has read it. A failed import leaves no report behind and
// changes neither size nor colour, so nothing on screen claims data that was not read.
import { defineStore } from 'pinia';
import type { AppError, ImportSummary } from '../../../preload/api.ts';
import { BUNDLED_DIGITS, OWN_IMAGES } from '../../../common/settings/model-fields.ts';
import { trainFields, type ClassMode } from '../../../common/settings/train-fields.ts';
import { api } from '../api/index.ts';
import { newJobId, wasCancelled } from './jobs.ts';


export const useDataStore = defineStore('data', {
  state: () => ({
    /** null means the bundled digits. */
    folder: null as string | null,
    size: BUNDLED_DIGITS.size as number,
    channels: BUNDLED_DIGITS.channels as 1 | 3,
    /** The train setting `classes`: Start sends it with the run's other settings. */
    classes: trainFields.classes.default as ClassMode,
    importing: false,
    /** The job of the import in progress (or the last one, whose end JobProgress shows). */
    importJob: null as string | null,
    summary: null as ImportSummary | null,
    /** Why the last import failed; null after one that worked. */
    failure: null as AppError | null,
  }),
  getters: {
    /** "bundled digits · 16×16 gray · 10 classes", what Start trains on, and whether it was imported. */
    description(s): string {
      const what = s.folder ?? 'bundled digits';
      const shape = `${s.size}×${s.size} ${s.channels === 1 ? 'gray' : 'RGB'}`;
      const classes = s.classes === 'none' ? '' : s.summary?.classes.length ? ` · ${s.summary.classes.length} classes` : ' · classes from sub-folders';
      const state = s.failure ? ' (import failed: see Data)' : s.summary ? '' : ' (not imported yet)';
      return `${what} · ${shape}${classes}${state}`;
    },
    /**
     * Whether allowing the folder could fix the failure: it was refused as outside the readable
     * folders (BAD_ARGUMENT from the Api's check) or at the terminal; not when it does not exist
     * or holds no images.
     */
    accessMayHelp(s): boolean {
      return s.folder !== null && (s.failure?.code === 'BAD_ARGUMENT' || s.failure?.code === 'REFUSED');
    },
  },
  actions: {
    /** The source picked in the Data view; size and colour move to that source's usual ones. */
    pickSource(source: 'bundled' | 'folder') {
      const usual = source === 'bundled' ? BUNDLED_DIGITS : OWN_IMAGES; // a first guess for a person's own pictures; they can switch
      this.size = usual.size;
      this.channels = usual.channels;
    },
    useBundled() {
      this.folder = null;
    },
    useFolder(path: string) {
      this.folder = path.trim() || null;
    },
    async choose() {
      const r = await api.chooseFolder();
      if (r.ok && r.value) this.useFolder(r.value);
    },
    /** Asks to read the chosen folder (browser mode asks in the server's terminal), then imports it if allowed. */
    async requestAccess(): Promise<boolean> {
      if (this.folder === null) return false;
      const r = await api.requestFolderAccess({ folder: this.folder });
      if (!r.ok) {
        this.failure = r.error;
        return false;
      }
      if (!r.value.allowed) {
        this.failure = { code: 'REFUSED', message: `Reading ${this.folder} was not allowed in the terminal that runs flowdesk serve.` };
        return false;
      }
      return this.load();
    },
    async load(): Promise<boolean> {
      this.importing = true;
      // The old report goes at once: until this import answers, no report describes the choice.
      this.summary = null;
      this.failure = null;
      this.importJob = newJobId();
      try {
        const r = await api.importFolder({ folder: this.folder, size: this.size, channels: this.channels, classes: this.classes, jobId: this.importJob });
        if (!r.ok) {
          // A cancel is the person's own choice, not a failure; anything else shows beside the form, where it can be fixed.
          if (!wasCancelled(r.error)) this.failure = r.error;
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
