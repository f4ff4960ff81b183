// glibc malloc's settings reach every process that trains: the `flowdesk` command's first line
// sets them (an npm shim runs it through env -S) and the app's worker gets them in its environment.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MALLOC_SETTINGS, startedWithMallocSettings, withMallocSettings } from '../../main/engine/onnx/malloc-settings.ts';
import { workerEnv } from '../../main/worker/worker-env.ts';
import { BIN } from '../helpers/cli-env.ts';

describe('malloc settings', () => {
  it("are what the flowdesk command's first line sets, before node", () => {
    const first = readFileSync(BIN, 'utf8').split('\n')[0];
    const match = /^#!\/usr\/bin\/env -S ((?:\S+=\S+ )+)node$/.exec(first);
    expect(match, first).not.toBeNull();
    const assigned = Object.fromEntries(match![1].trim().split(' ').map((pair) => pair.split('=') as [string, string]));
    expect(assigned).toEqual(MALLOC_SETTINGS);
  });

  it.skipIf(process.platform === 'win32')('leave the command runnable through its first line', () => {
    const run = spawnSync(BIN, ['help'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Usage: flowdesk <command>/);
  });

  it("are in the worker's environment, replacing a person's own values", () => {
    const saved = process.env.MALLOC_TRIM_THRESHOLD_;
    process.env.MALLOC_TRIM_THRESHOLD_ = '1';
    try {
      const env = workerEnv('/tmp/runs');
      expect(startedWithMallocSettings(env)).toBe(true);
      expect(env.FLOWDESK_RUNS).toBe('/tmp/runs');
    } finally {
      if (saved === undefined) delete process.env.MALLOC_TRIM_THRESHOLD_;
      else process.env.MALLOC_TRIM_THRESHOLD_ = saved;
    }
    expect(startedWithMallocSettings({})).toBe(false);
    expect(startedWithMallocSettings(withMallocSettings({ MALLOC_MMAP_THRESHOLD_: '1' }))).toBe(true);
  });
});
