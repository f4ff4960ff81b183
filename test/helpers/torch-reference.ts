// The PyTorch references in bench/ as tests use them: whether a python3 with torch is here (tests
// skip without one, and fail under CI=true, whose .ci/run installs it), and one JSON line per run.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findTorchPython } from '../../bench/torch-python.ts';

const torchPython = findTorchPython();

/** Why the references cannot run here, or '' when they can. */
export const torchSkipReason = 'reason' in torchPython ? torchPython.reason : '';

/** Declares the test that fails under CI=true when torch is missing, so CI never skips the comparison. */
export function requireTorchInCi(): void {
  describe('the PyTorch references in CI', () => {
    it.runIf(process.env.CI === 'true' && torchSkipReason !== '')('have torch (python3-torch, installed by .ci/run)', () => {
      expect.fail(`CI=true but PyTorch is unavailable: ${torchSkipReason}`);
    });
  });
}

/** How long one run of a reference may take: a hook or test that runs one allows as much. */
export const RUN_LIMIT_MS = 300_000;

/** Runs bench/`script` with `args` and returns each line it printed, parsed. */
export function runTorchScript(script: string, args: string[] = []): unknown[] {
  return runTorchPython([fileURLToPath(new URL(`../../bench/${script}`, import.meta.url)), ...args]);
}

/**
 * Runs the python with torch on `args` (a script and its arguments, or `-m module ...`) in `cwd`
 * and returns each JSON line it printed, parsed (other lines skipped). No .pyc files are left in
 * the sources.
 */
export function runTorchPython(args: string[], cwd?: string): unknown[] {
  if (!('python' in torchPython)) throw new Error(torchPython.reason);
  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
  const run = spawnSync(torchPython.python, args, { encoding: 'utf8', timeout: RUN_LIMIT_MS, cwd, env });
  if (run.status !== 0) throw new Error(`${args.join(' ')} failed: ${run.stderr || String(run.error ?? run.status)}`);
  return run.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as unknown);
}
