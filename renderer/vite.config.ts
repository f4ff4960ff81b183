// The renderer's build, shared by electron-vite (the desktop app) and plain Vite (browser mode
// alone: `npx vite build --config renderer/vite.config.ts` writes the same out/renderer).
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig, type Plugin, type UserConfig } from 'vite';
import { META_CSP } from '../main/csp.ts';

// import.meta.url, unlike import.meta.dirname, is this file's own under electron-vite's config
// loader too (it bundles this file into electron.vite.config.ts).
const here = fileURLToPath(new URL('.', import.meta.url));

/** Puts the app's CSP first in <head>, before any script, in development and in builds. */
function contentSecurityPolicy(): Plugin {
  return {
    name: 'flowdesk-csp',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: META_CSP }, injectTo: 'head-prepend' }],
  };
}

export const rendererConfig: UserConfig = {
  root: here,
  // Relative asset URLs: the built page loads from file:// in Electron and from / when served.
  base: './',
  plugins: [vue(), contentSecurityPolicy()],
  build: {
    outDir: resolve(here, '../out/renderer'),
    emptyOutDir: true,
    rolldownOptions: { input: { index: resolve(here, 'index.html') } },
  },
};

export default defineConfig(rendererConfig);
