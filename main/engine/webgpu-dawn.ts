// WebGPU in Node through Dawn's bindings (the optional `webgpu` package): finds an adapter (a
// child process looks first), refuses a software one unless allowed, starts tfjs-backend-webgpu
// on it and adapts what that backend expects of a browser (synchronous reads, AddN's width).
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import * as tf from './tf.ts';
import { firstLine } from './errors.ts';

/** The adapter a webgpu backend runs on; `software` for lavapipe, SwiftShader and the like. */
export interface WebGpuAdapter {
  description: string;
  software: boolean;
}

// Not named `require`: the CommonJS bundle of the app worker already declares one.
const requireOptional = createRequire(import.meta.url);

/** The parts of the WebGPU API (as the `webgpu` package gives it) this file touches. */
interface GpuAdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface GpuAdapter {
  info?: GpuAdapterInfo;
  isFallbackAdapter?: boolean;
}
interface Gpu {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GpuAdapter | null>;
}
interface DawnModule {
  create(flags: string[]): Gpu;
  globals: Record<string, unknown>;
}
interface GpuBuffer {
  readonly size: number;
  readonly mapState: 'unmapped' | 'pending' | 'mapped';
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}

/** Adapters that are a CPU pretending to be a GPU: lavapipe/llvmpipe, SwiftShader, WARP. */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|microsoft basic render|\bsoftware\b/i;
/** Run in a child process: prints the adapter Dawn would give, as JSON (null for none). */
const PROBE_SCRIPT = `import(process.argv[1]).then(async ({ create }) => {
  const a = await create([]).requestAdapter({ powerPreference: 'high-performance' });
  const i = (a && a.info) || {};
  process.stdout.write(JSON.stringify(a && { vendor: i.vendor, architecture: i.architecture, device: i.device,
    description: i.description, isFallbackAdapter: i.isFallbackAdapter ?? a.isFallbackAdapter }));
})`;

let dawn: { module: DawnModule; gpu: Gpu } | null = null;

function adapterDescription(info: GpuAdapterInfo): string {
  const text = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ');
  return text.trim() || 'an unnamed adapter';
}

function isSoftwareAdapter(info: GpuAdapterInfo): boolean {
  return info.isFallbackAdapter === true || SOFTWARE_ADAPTER.test([info.vendor, info.architecture, info.device, info.description].join(' '));
}

/** The file URL of the optional `webgpu` package, resolved (not imported, so it stays out of bundles). */
function dawnEntry(): string {
  try {
    return pathToFileURL(requireOptional.resolve('webgpu')).href;
  } catch {
    throw new Error('the webgpu package (Dawn) is not installed (it is optional)');
  }
}

/**
 * Asks Dawn in a child process which adapter it would give, so the Vulkan loader's warnings on
 * machines without a GPU (and a crash in a broken driver) stay out of this process.
 */
function probeAdapter(entry: string): Promise<GpuAdapterInfo | null> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ELECTRON_RUN_AS_NODE: '1' };
    execFile(process.execPath, ['-e', PROBE_SCRIPT, entry], { env, timeout: 30_000, windowsHide: true }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? `timed out or was killed (${err.signal ?? 'no signal'})` : firstLine(stderr.trim() || err);
        reject(new Error(`Dawn's adapter probe failed: ${why}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as GpuAdapterInfo | null);
      } catch {
        reject(new Error(`Dawn's adapter probe printed no answer: ${firstLine(stdout || stderr)}`));
      }
    });
  });
}

function refuseSoftware(info: GpuAdapterInfo, allowSoftware: boolean): void {
  if (isSoftwareAdapter(info) && !allowSoftware) {
    throw new Error(`only a software adapter (${adapterDescription(info)}), slower than wasm; FLOWDESK_WEBGPU_SOFTWARE=1 or forcing webgpu uses it`);
  }
}

const NO_ADAPTER = 'Dawn found no WebGPU adapter (no Vulkan, Metal or Direct3D 12 driver for a GPU)';

/**
 * Finds a WebGPU adapter through Dawn, refuses a software one unless allowed, then starts
 * tfjs-backend-webgpu on it. Unless forced, a child process looks first. The backend package
 * registers itself only if navigator.gpu exists when it is first imported, so the shim goes in
 * before it.
 */
export async function loadWebGpu(probeFirst: boolean, allowSoftware: boolean): Promise<WebGpuAdapter> {
  const entry = dawnEntry();
  if (probeFirst) {
    const probed = await probeAdapter(entry);
    if (!probed) throw new Error(NO_ADAPTER);
    refuseSoftware(probed, allowSoftware);
  }
  if (!dawn) {
    let module: DawnModule;
    try {
      module = (await import(/* @vite-ignore */ entry)) as DawnModule;
    } catch (err) {
      throw new Error(`the webgpu package (Dawn) failed to load: ${firstLine(err)}`);
    }
    try {
      dawn = { module, gpu: module.create([]) };
    } catch (err) {
      throw new Error(`Dawn failed to start: ${firstLine(err)}`);
    }
  }
  const adapter = await dawn.gpu.requestAdapter({ powerPreference: 'high-performance' }).catch((err: unknown) => {
    throw new Error(`Dawn failed to look for an adapter: ${firstLine(err)}`);
  });
  if (!adapter) throw new Error(NO_ADAPTER);
  // Dawn's info fields are prototype getters, which a spread would miss.
  const { vendor, architecture, device, description: text, isFallbackAdapter } = adapter.info ?? {};
  const info: GpuAdapterInfo = { vendor, architecture, device, description: text, isFallbackAdapter: isFallbackAdapter ?? adapter.isFallbackAdapter };
  refuseSoftware(info, allowSoftware);
  const description = adapterDescription(info);
  installWebGpuGlobals(dawn.module, dawn.gpu);
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!tf.findBackendFactory('webgpu')) throw new Error('@tensorflow/tfjs-backend-webgpu did not register (navigator.gpu was missing when it loaded)');
  if (!(await tf.setBackend('webgpu'))) throw new Error(`the WebGPU backend failed to start on ${description}`);
  const backend = tf.backend() as unknown as WebGpuBackendInternals;
  enableSyncReads(backend);
  splitWideAddN();
  return { description, software: isSoftwareAdapter(info) };
}

let addNSplit = false;

/**
 * tfjs-backend-webgpu 4.22 binds every AddN input as a storage buffer, and a device allows 8 per
 * shader stage: summing more (the optimizer's gradient norm sums one term per parameter) fails
 * validation and reads back garbage. Sums wider than the limit are done in chunks.
 */
function splitWideAddN(): void {
  const native = tf.getKernel(tf.AddN, 'webgpu');
  if (!native || addNSplit) return;
  addNSplit = true;
  const addN = (inputs: tf.TensorInfo[], backend: WebGpuBackendInternals, attrs?: tf.NamedAttrMap): tf.TensorInfo => {
    const most = backend.device.limits.maxStorageBuffersPerShaderStage - 1;
    if (inputs.length <= most) return native.kernelFunc({ inputs: inputs as unknown as tf.NamedTensorInfoMap, backend, attrs }) as tf.TensorInfo;
    const partial: tf.TensorInfo[] = [];
    for (let i = 0; i < inputs.length; i += most) partial.push(addN(inputs.slice(i, i + most), backend, attrs));
    const sum = addN(partial, backend, attrs);
    for (const p of partial) backend.disposeData(p.dataId);
    return sum;
  };
  tf.unregisterKernel(tf.AddN, 'webgpu');
  tf.registerKernel({
    ...native,
    kernelFunc: ({ inputs, backend, attrs }) => addN(inputs as unknown as tf.TensorInfo[], backend as WebGpuBackendInternals, attrs),
  });
}

/** GPUBufferUsage, GPUMapMode, GPUBuffer... and navigator.gpu, as a browser has them. */
function installWebGpuGlobals(module: DawnModule, gpu: Gpu): void {
  const g = globalThis as Record<string, unknown>;
  for (const [key, value] of Object.entries(module.globals)) {
    if (!(key in g)) Object.defineProperty(g, key, { value, configurable: true, writable: true });
  }
  if (typeof g.navigator !== 'object' || g.navigator === null) {
    Object.defineProperty(g, 'navigator', { value: {}, configurable: true, writable: true });
  }
  const nav = g.navigator as { gpu?: unknown };
  if (nav.gpu !== gpu) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
  interceptDawnTicks();
}

// tfjs-backend-webgpu reads synchronously (dataSync, which training uses) through an
// OffscreenCanvas, which Node lacks. Dawn's bindings process GPU events in callbacks they
// schedule with the global setImmediate; capturing those lets a read map its staging buffer
// and wait for it without returning to the event loop. What cannot be done synchronously is
// freeing: Node runs the finalizers that release Dawn's objects (bind groups, one per kernel
// launch) only between event-loop turns, so code on webgpu must await between steps, as the
// trainer does; lavapipe crashes after some 20 small Glow steps in one synchronous stretch.

/** Dawn's event-processing callbacks scheduled and not yet run. */
const dawnTicks = new Set<() => void>();
let ticksIntercepted = false;

function interceptDawnTicks(): void {
  if (ticksIntercepted) return;
  ticksIntercepted = true;
  const original = globalThis.setImmediate;
  // Dawn passes an anonymous native function of no parameters that has a prototype; bound
  // functions are named and promise resolvers take one parameter and have none.
  const isDawnTick = (fn: unknown, args: unknown[]) =>
    typeof fn === 'function' &&
    args.length === 0 &&
    fn.name === '' &&
    fn.length === 0 &&
    Object.hasOwn(fn, 'prototype') &&
    Function.prototype.toString.call(fn).endsWith('{ [native code] }');
  const patched = (fn: (...args: unknown[]) => void, ...args: unknown[]) => {
    if (!isDawnTick(fn, args)) return original(fn, ...args);
    let ran = false;
    const once = () => {
      if (ran) return;
      ran = true;
      dawnTicks.delete(once);
      fn();
    };
    dawnTicks.add(once);
    return original(once);
  };
  globalThis.setImmediate = Object.assign(patched, original) as typeof setImmediate;
}

/** Runs Dawn's pending event processing until `done`; sleeps briefly between rounds. */
function driveDawnUntil(done: () => boolean): void {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let rounds = 0;
  let starvedSince = 0;
  while (!done()) {
    if (dawnTicks.size === 0) {
      starvedSince ||= Date.now();
      if (Date.now() - starvedSince > 2000) throw new Error('WebGPU read stalled: Dawn scheduled no event processing to wait on');
    } else {
      starvedSince = 0;
      for (const tick of [...dawnTicks]) tick();
    }
    // Spin for short waits, then give the CPU to the driver (lavapipe computes on it).
    if (++rounds > 64 && !done()) Atomics.wait(nap, 0, 0, 0.2);
  }
}

/** The tfjs-backend-webgpu 4.22 internals a synchronous read needs. */
interface WebGpuBackendInternals {
  tensorMap: { get(dataId: object): { values: unknown; dtype: tf.DataType; resource: unknown } };
  bufferManager: { acquireBuffer(size: number, usage: number): GpuBuffer; releaseBuffer(buffer: GpuBuffer): void };
  commandEncoder: { copyBufferToBuffer(src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, size: number): void };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  convertAndCacheOnCPU(dataId: object, values: unknown): unknown;
  readSync(dataId: object): unknown;
  disposeData(dataId: object): boolean;
  device: {
    limits: { maxStorageBuffersPerShaderStage: number };
    addEventListener(type: 'uncapturederror', listener: (e: { error: { message: string } }) => void): void;
  };
}

/** Replaces the backend's canvas-based readSync with a staging-buffer copy mapped in place. */
function enableSyncReads(backend: WebGpuBackendInternals): void {
  if (Object.hasOwn(backend, 'readSync')) return;
  const g = globalThis as unknown as { GPUBuffer: new () => GpuBuffer; GPUBufferUsage: Record<string, number>; GPUMapMode: Record<string, number> };
  const canvasRead = backend.readSync.bind(backend);
  // A command that fails validation is dropped and its outputs read as garbage: say so instead.
  let deviceError: string | null = null;
  backend.device.addEventListener('uncapturederror', (e) => (deviceError ??= firstLine(e.error.message)));
  backend.readSync = (dataId: object) => {
    const data = backend.tensorMap.get(dataId);
    if (data.values != null || data.dtype === 'string' || data.dtype === 'complex64' || !(data.resource instanceof g.GPUBuffer)) {
      return canvasRead(dataId);
    }
    const source = data.resource;
    const staging = backend.bufferManager.acquireBuffer(source.size, g.GPUBufferUsage.COPY_DST | g.GPUBufferUsage.MAP_READ);
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.commandEncoder.copyBufferToBuffer(source, 0, staging, 0, source.size);
    backend.submitQueue();
    let failure: unknown = null;
    staging.mapAsync(g.GPUMapMode.READ).catch((err: unknown) => (failure = err));
    driveDawnUntil(() => staging.mapState !== 'pending');
    if (staging.mapState !== 'mapped') throw new Error(`WebGPU read failed: ${firstLine(failure ?? 'the buffer could not be mapped (device lost?)')}`);
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    backend.bufferManager.releaseBuffer(staging);
    if (deviceError !== null) {
      const message = deviceError;
      deviceError = null;
      throw new Error(`WebGPU rejected a command, so results are invalid: ${message}`);
    }
    return backend.convertAndCacheOnCPU(dataId, tf.util.convertBackendValuesAndArrayBuffer(bytes, data.dtype));
  };
}
