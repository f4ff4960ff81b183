// Build of the three Electron parts: main and its compute worker (Node; npm dependencies such
// as @tensorflow/* and sharp stay external), a sandboxed CommonJS preload, and the Vue renderer.
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { rendererConfig } from './renderer/vite.config.ts';

export default defineConfig({
  main: {
    build: {
      rolldownOptions: {
        input: {
          index: resolve(__dirname, 'main/index.ts'),
          worker: resolve(__dirname, 'main/worker/entry.ts'),
          // Replica threads for data-parallel training and sampling (runtime/replicas/replica-thread.ts finds it by this name).
          'model-replica': resolve(__dirname, 'main/engine/runtime/replicas/replica-entry.ts'),
          // The Lab's training thread on tfjs's cpu backend (main/worker/lab-thread-host.ts finds it by this name).
          'lab-thread': resolve(__dirname, 'main/worker/lab-thread.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      rolldownOptions: {
        input: { index: resolve(__dirname, 'preload/index.ts') },
        // A sandboxed preload cannot load ES modules; its only import is the electron module.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  // The same config as the browser-mode build, so both write the same out/renderer.
  renderer: rendererConfig,
});
