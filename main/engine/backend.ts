// Chooses the TensorFlow.js backend at run time: CUDA (tfjs-node-gpu), a hardware WebGPU adapter
// (Dawn via the `webgpu` package), native CPU (tfjs-node), onnxruntime's native CPU kernels for
// training steps over WebAssembly for the rest ('onnx'), WebAssembly alone, then plain JavaScript,
// recording why each earlier one was skipped so the CLI, the app and run.json can say what runs.
// A flag or FLOWDESK_BACKEND forces one.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from './tf.ts';
import { BackendError, firstLine } from './errors.ts';
import { loadOrt } from './onnx/runtime.ts';
import { loadWebGpu, type WebGpuAdapter } from './webgpu-dawn.ts';

import { BACKEND_NAMES, type BackendName } from '../../common/settings/backends.ts';

export { BACKEND_NAMES, type BackendName };

export interface BackendReport {
  name: BackendName;
  /** The tfjs backend id in use ('tensorflow', 'webgpu', 'wasm', 'cpu'). */
  tfBackend: string;
  skipped: { name: BackendName; reason: string }[];
  /** Whether wasm runs with SIMD (wasm and onnx). */
  simd?: boolean;
  /** The WebGPU adapter in use (only for webgpu). */
  adapter?: WebGpuAdapter;
  /** The folder onnxruntime-node loaded from (only for onnx): FlowDesk's own copy or `flowdesk setup onnx`'s. */
  ortFrom?: string;
}

// Not named `require`: the CommonJS bundle of the app worker already declares one.
const requireOptional = createRequire(import.meta.url);

/** Loads one backend and makes it current; throws with a person-readable reason. */
async function load(name: BackendName, forced: boolean, allowSoftwareGpu: boolean): Promise<Omit<BackendReport, 'name' | 'skipped'>> {
  switch (name) {
    case 'node-gpu':
    case 'node': {
      const pkg = name === 'node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      try {
        requireOptional(pkg);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'MODULE_NOT_FOUND') throw new Error(`${pkg} is not installed (its libtensorflow download is optional)`);
        throw new Error(`${pkg} failed to load: ${firstLine(err)}`);
      }
      if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but its backend did not start`);
      if (name === 'node-gpu' && !gpuVisible()) {
        throw new Error('@tensorflow/tfjs-node-gpu loaded but TensorFlow sees no CUDA GPU');
      }
      return { tfBackend: 'tensorflow' };
    }
    case 'webgpu':
      return { tfBackend: 'webgpu', adapter: await loadWebGpu(!forced, allowSoftwareGpu) };
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // Point at the .wasm files explicitly so this also works when the engine is bundled.
      const dir = dirname(requireOptional.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
      wasm.setWasmPaths(`${join(dir, 'dist')}/`);
      if (!(await tf.setBackend('wasm'))) throw new Error('the WebAssembly backend failed to initialise');
      return { tfBackend: 'wasm', simd: (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true };
    }
    case 'onnx': {
      // Training steps run as one onnxruntime graph (onnx/onnx-update.ts, optimizer update included); tfjs runs wasm.
      const ort = loadOrt();
      if ('reason' in ort) throw new Error(ort.reason);
      return { ...(await load('wasm', forced, allowSoftwareGpu)), ortFrom: ort.from };
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      if (!(await tf.setBackend('cpu'))) throw new Error('the JavaScript backend failed to initialise');
      return { tfBackend: 'cpu' };
  }
}

function gpuVisible(): boolean {
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  return backend.isUsingGpuDevice === true;
}

let current: { key: string; report: BackendReport } | null = null;

/**
 * Picks and activates a backend. `force` (else $FLOWDESK_BACKEND) names exactly one; without it,
 * the first of node-gpu, webgpu, node, onnx, wasm, cpu that loads wins. WebGPU takes a software
 * adapter (lavapipe, SwiftShader) only when forced or with FLOWDESK_WEBGPU_SOFTWARE=1. Calling
 * again with the same choice returns the same report.
 */
export async function initBackend(opts: { force?: BackendName } = {}): Promise<BackendReport> {
  const forced = opts.force ?? (process.env.FLOWDESK_BACKEND as BackendName | undefined) ?? undefined;
  if (forced !== undefined && !BACKEND_NAMES.includes(forced)) {
    throw new BackendError('BACKEND_UNAVAILABLE', `Unknown backend "${forced}" (from ${opts.force ? '--backend' : 'FLOWDESK_BACKEND'}); use one of ${BACKEND_NAMES.join(', ')}.`);
  }
  const allowSoftwareGpu = forced === 'webgpu' || process.env.FLOWDESK_WEBGPU_SOFTWARE === '1';
  const key = `${forced ?? 'auto'}${allowSoftwareGpu ? '+software' : ''}`;
  if (current?.key === key && tf.getBackend() === current.report.tfBackend) return current.report;
  const candidates = forced ? [forced] : BACKEND_NAMES;
  const skipped: BackendReport['skipped'] = [];
  for (const name of candidates) {
    try {
      const report: BackendReport = { name, ...(await load(name, forced !== undefined, allowSoftwareGpu)), skipped };
      current = { key, report };
      return report;
    } catch (err) {
      skipped.push({ name, reason: firstLine(err) });
    }
  }
  const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  const hint = forced?.startsWith('node')
    ? 'Install it with npm where libtensorflow can be downloaded (see README), or '
    : forced === 'webgpu'
      ? 'It needs the webgpu package and a Vulkan, Metal or Direct3D 12 driver (see README), or '
      : '';
  throw new BackendError(
    'BACKEND_UNAVAILABLE',
    forced ? `The ${forced} backend cannot be used (${why}). ${hint}choose another with --backend or FLOWDESK_BACKEND.` : `No compute backend could be loaded (${why}).`,
  );
}

/** The backend initBackend last chose, while tfjs still runs it; null before any choice. */
export function activeBackend(): BackendName | null {
  return current && tf.getBackend() === current.report.tfBackend ? current.report.name : null;
}

/** One line for people: what runs, and why the ones before it did not. */
export function describeBackend(r: BackendReport): string {
  const extra =
    r.name === 'onnx' ? ` (onnxruntime for training steps, from ${r.ortFrom}; wasm with SIMD ${r.simd ? 'on' : 'off'} for the rest)` : r.name === 'wasm' ? ` (SIMD ${r.simd ? 'on' : 'off'})` : r.adapter ? ` (${r.adapter.software ? 'software adapter' : 'adapter'} ${r.adapter.description})` : '';
  const skipped = r.skipped.length ? ` — skipped ${r.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}` : '';
  return `backend: ${r.name}${extra}${skipped}`;
}
