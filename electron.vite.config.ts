// Build of the three Electron parts: main, its compute worker and the `flowdesk` CLI (Node; npm
// dependencies such as @tensorflow/* and sharp stay external), a sandboxed CommonJS preload, and the Vue renderer.
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { rendererConfig } from './renderer/vite.config.ts';

export default defineConfig({
  main: {
    build: {
      // The CLI runs on the Node that installed the package (package.json engines), not Electron's.
      target: 'node20.19',
      rolldownOptions: {
        input: {
          index: resolve(__dirname, 'main/index.ts'),
          // The command line of an installed package (bin/flowdesk.mjs loads it when there are no sources).
          cli: resolve(__dirname, 'main/cli.ts'),
          // Electron's utilityProcess and the CLI's browser mode (main/worker/node-worker.ts) fork it.
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
