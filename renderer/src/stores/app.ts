// App-wide state: what the app is (version, mode, backend), which view shows, and the latest
// message for the person (errors stay until dismissed).
import { defineStore } from 'pinia';
import type { AppError, AppInfo } from '../../../preload/api.ts';
import { api } from '../api/index.ts';

export type View = 'data' | 'train' | 'samples' | 'explore' | 'projector' | 'runs' | 'lab';
export const VIEWS: { id: View; label: string }[] = [
  { id: 'data', label: 'Data' },
  { id: 'train', label: 'Train' },
  { id: 'samples', label: 'Samples' },
  { id: 'explore', label: 'Explore' },
  { id: 'projector', label: 'Projector' },
  { id: 'runs', label: 'Runs' },
  { id: 'lab', label: 'Lab' },
];

export const useAppStore = defineStore('app', {
  state: () => ({
    info: null as AppInfo | null,
    view: 'data' as View,
    error: null as AppError | null,
    notice: null as string | null,
  }),
  actions: {
    async load() {
      const r = await api.getAppInfo();
      if (r.ok) this.info = r.value;
      else this.error = r.error;
    },
    show(view: View) {
      this.view = view;
    },
    fail(error: AppError) {
      this.error = error;
    },
    dismiss() {
      this.error = null;
      this.notice = null;
    },
  },
});
