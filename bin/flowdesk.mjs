#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 node
// Entry point of the `flowdesk` command. In a checkout it runs the TypeScript CLI through tsx, so
// it works right after `npm install` with no build step; an installed package ships no sources and runs the compiled out/main/cli.js.
// The first line gives node glibc malloc's settings for training steps, which a process reads only
// as it starts (main/engine/onnx/malloc-settings.ts; test/unit/malloc-settings.test.ts keeps the two alike).
import { existsSync } from 'node:fs';

const source = new URL('../main/cli.ts', import.meta.url);
let runCli;
if (existsSync(source)) {
  (await import('tsx/esm/api')).register();
  ({ runCli } = await import(source.href));
} else {
  ({ runCli } = await import('../out/main/cli.js'));
}
process.exitCode = await runCli(process.argv.slice(2));
