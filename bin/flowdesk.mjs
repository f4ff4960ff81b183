#!/usr/bin/env node
// Entry point of the `flowdesk` command: runs the TypeScript CLI through tsx, so a checkout
// works right after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../main/cli.ts');
const code = await runCli(process.argv.slice(2));
process.exitCode = code;
