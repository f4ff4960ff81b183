#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 node
// Entry point of the `flowdesk` command. An installed package ships no sources and runs the
// compiled out/main/cli.js. In a checkout it runs that too when `npm run build` wrote it after the
// last change to the sources it bundles: tsx compiles every module as it loads (a one-step
// `flowdesk train` took 4.2-4.3 s through tsx against 2.5 s compiled, `flowdesk help` 2.1 s
// against 0.85 s). Otherwise it runs the TypeScript CLI through tsx, so it works right after
// `npm install` with no build step and never runs a stale build.
// The first line gives node glibc malloc's settings for training steps, which a process reads only
// as it starts (main/engine/onnx/malloc-settings.ts; test/unit/malloc-settings.test.ts keeps the two alike).
import { existsSync, readdirSync, statSync } from 'node:fs';

const source = new URL('../main/cli.ts', import.meta.url);
const compiled = new URL('../out/main/cli.js', import.meta.url);
/** What the build bundles (electron.vite.config.ts) and what it is built with. */
const BUILT_FROM = ['main/', 'common/', 'preload/', 'renderer/', 'electron.vite.config.ts', 'package.json', 'package-lock.json'];

/** The newest modification time of a file or of any file under a folder. */
function newest(url) {
  const stat = statSync(url, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) return stat?.mtimeMs ?? 0;
  return Math.max(0, ...readdirSync(url, { withFileTypes: true }).map((e) => newest(new URL(e.isDirectory() ? `${e.name}/` : e.name, url))));
}

const fresh = () => existsSync(compiled) && statSync(compiled).mtimeMs >= Math.max(...BUILT_FROM.map((p) => newest(new URL(`../${p}`, import.meta.url))));

let runCli;
if (existsSync(source) && !fresh()) {
  (await import('tsx/esm/api')).register();
  ({ runCli } = await import(source.href));
} else {
  ({ runCli } = await import(compiled.href));
}
process.exitCode = await runCli(process.argv.slice(2));
