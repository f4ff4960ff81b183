// Backend choice: the native packages are optional and absent here, so auto picks WebGPU where a
// hardware adapter exists, else onnxruntime over wasm (or wasm alone without onnxruntime-node),
// saying why each earlier one was skipped; forcing works;
// forcing a missing one is a clear error; a software WebGPU adapter runs only when asked.
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

const ortInstalled = (() => {
  try {
    import.meta.resolve('onnxruntime-node');
    return true;
  } catch {
    return false;
  }
})();

describe('initBackend', () => {
  it.skipIf(nativeInstalled)('falls back past node-gpu to webgpu, onnx or wasm and says why', async () => {
    const report = await initBackend();
    expect(tf.getBackend()).toBe(report.tfBackend);
    expect(report.skipped[0].name).toBe('node-gpu');
    expect(report.skipped[0].reason).toMatch(/tfjs-node-gpu is not installed/);
    if (report.name === 'webgpu') {
      // This machine has a GPU with a Vulkan, Metal or Direct3D 12 driver.
      expect(report.adapter?.software).toBe(false);
      expect(describeBackend(report)).toMatch(/^backend: webgpu \(adapter .+\) — skipped node-gpu: /);
      return;
    }
    expect(report.tfBackend).toBe('wasm');
    expect(report.skipped[1].reason).toMatch(/software adapter|Dawn/);
    if (ortInstalled) {
      expect(report.name).toBe('onnx');
      expect(report.skipped.map((s) => s.name)).toEqual(['node-gpu', 'webgpu', 'node']);
      expect(describeBackend(report)).toMatch(/^backend: onnx \(onnxruntime for training steps, from \S+onnxruntime-node; wasm with SIMD (on|off) for the rest\) — skipped node-gpu: .*; webgpu: .*; node: /);
    } else {
      expect(report.name).toBe('wasm');
      expect(report.skipped.map((s) => s.name)).toEqual(['node-gpu', 'webgpu', 'node', 'onnx']);
      expect(describeBackend(report)).toMatch(/^backend: wasm \(SIMD (on|off)\) — skipped node-gpu: .*; webgpu: .*; node: .*; onnx: onnxruntime-node /);
    }
  });

  it.skipIf(nativeInstalled)('takes a software WebGPU adapter only with FLOWDESK_WEBGPU_SOFTWARE=1', async (ctx) => {
    const auto = await initBackend();
    const webgpu = auto.skipped.find((s) => s.name === 'webgpu');
    if (!webgpu?.reason.startsWith('only a software adapter')) ctx.skip(`no software adapter here (${webgpu?.reason ?? `auto chose ${auto.name}`})`);
    expect(webgpu!.reason).toMatch(/FLOWDESK_WEBGPU_SOFTWARE=1/);
    process.env.FLOWDESK_WEBGPU_SOFTWARE = '1';
    try {
      const report = await initBackend();
      expect(report.name).toBe('webgpu');
      expect(report.adapter?.software).toBe(true);
      expect(describeBackend(report)).toMatch(/^backend: webgpu \(software adapter .+\) — skipped node-gpu: /);
      expect(tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0]).toBe(6);
    } finally {
      delete process.env.FLOWDESK_WEBGPU_SOFTWARE;
    }
    expect((await initBackend()).name).toBe(auto.name);
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
