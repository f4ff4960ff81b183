// App-wide state: what the app is (version, Electron or browser mode) and its last error.
import { defineStore } from 'pinia';
import type { AppError, AppInfo } from '../../../preload/api.ts';
import { api } from '../api/index.ts';

export const useAppStore = defineStore('app', {
  state: () => ({ info: null as AppInfo | null, error: null as AppError | null }),
  actions: {
    async load() {
      const r = await api.getAppInfo();
      if (r.ok) this.info = r.value;
      else this.error = r.error;
    },
  },
});
