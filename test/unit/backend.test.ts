// Backend choice: the native packages are optional and absent here, so auto picks wasm and says
// why each native one was skipped; forcing works; forcing a missing one is a clear error.
import { describe, expect, it } from 'vitest';
import { describeBackend, initBackend } from '../../main/engine/backend.ts';
import * as tf from '../../main/engine/tf.ts';

const nativeInstalled = (() => {
  try {
    import.meta.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

describe('initBackend', () => {
  it.skipIf(nativeInstalled)('falls back to wasm and says why node-gpu and node were skipped', async () => {
    const report = await initBackend();
    expect(report.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(report.skipped.map((s) => s.name)).toEqual(['node-gpu', 'node']);
    expect(report.skipped[0].reason).toMatch(/tfjs-node-gpu is not installed/);
    expect(describeBackend(report)).toMatch(/^backend: wasm \(SIMD (on|off)\) — skipped node-gpu: .*; node: /);
  });

  it('can be forced, and by FLOWDESK_BACKEND', async () => {
    expect((await initBackend({ force: 'cpu' })).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    process.env.FLOWDESK_BACKEND = 'wasm';
    try {
      expect((await initBackend()).name).toBe('wasm');
    } finally {
      delete process.env.FLOWDESK_BACKEND;
    }
  });

  it.skipIf(nativeInstalled)('refuses a forced backend that cannot load, saying what to do', async () => {
    await expect(initBackend({ force: 'node' })).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: expect.stringMatching(/node backend cannot be used.*not installed/) });
    process.env.FLOWDESK_BACKEND = 'tpu';
    try {
      await expect(initBackend()).rejects.toThrow(/Unknown backend "tpu" \(from FLOWDESK_BACKEND\)/);
    } finally {
      delete process.env.FLOWDESK_BACKEND;
    }
  });
});
