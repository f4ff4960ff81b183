// Chooses the TensorFlow.js backend at run time: CUDA (tfjs-node-gpu), native CPU (tfjs-node),
// WebAssembly, then plain JavaScript, recording why each earlier one was skipped so the CLI,
// the app and run.json can say what runs. A flag or FLOWDESK_BACKEND forces one.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from './tf.ts';
import { BackendError } from './errors.ts';

export type BackendName = 'node-gpu' | 'node' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['node-gpu', 'node', 'wasm', 'cpu'];

export interface BackendReport {
  name: BackendName;
  /** The tfjs backend id in use ('tensorflow', 'wasm', 'cpu'). */
  tfBackend: string;
  skipped: { name: BackendName; reason: string }[];
  /** Whether wasm runs with SIMD (only for wasm). */
  simd?: boolean;
}

const require = createRequire(import.meta.url);

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0].slice(0, 200);
}

/** Loads one backend and makes it current; throws with a person-readable reason. */
async function load(name: BackendName): Promise<string> {
  switch (name) {
    case 'node-gpu':
    case 'node': {
      const pkg = name === 'node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      try {
        require(pkg);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'MODULE_NOT_FOUND') throw new Error(`${pkg} is not installed (its libtensorflow download is optional)`);
        throw new Error(`${pkg} failed to load: ${firstLine(err)}`);
      }
      if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but its backend did not start`);
      if (name === 'node-gpu' && !gpuVisible()) {
        throw new Error('@tensorflow/tfjs-node-gpu loaded but TensorFlow sees no CUDA GPU');
      }
      return 'tensorflow';
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // Point at the .wasm files explicitly so this also works when the engine is bundled.
      const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
      wasm.setWasmPaths(`${join(dir, 'dist')}/`);
      if (!(await tf.setBackend('wasm'))) throw new Error('the WebAssembly backend failed to initialise');
      return 'wasm';
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      if (!(await tf.setBackend('cpu'))) throw new Error('the JavaScript backend failed to initialise');
      return 'cpu';
  }
}

function gpuVisible(): boolean {
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  return backend.isUsingGpuDevice === true;
}

let current: { key: string; report: BackendReport } | null = null;

/**
 * Picks and activates a backend. `force` (else $FLOWDESK_BACKEND) names exactly one; without it,
 * the first of node-gpu, node, wasm, cpu that loads wins. Calling again with the same choice
 * returns the same report.
 */
export async function initBackend(opts: { force?: BackendName } = {}): Promise<BackendReport> {
  const forced = opts.force ?? (process.env.FLOWDESK_BACKEND as BackendName | undefined) ?? undefined;
  if (forced !== undefined && !BACKEND_ORDER.includes(forced)) {
    throw new BackendError('BACKEND_UNAVAILABLE', `Unknown backend "${forced}" (from ${opts.force ? '--backend' : 'FLOWDESK_BACKEND'}); use one of ${BACKEND_ORDER.join(', ')}.`);
  }
  const key = forced ?? 'auto';
  if (current?.key === key && tf.getBackend() === current.report.tfBackend) return current.report;
  const candidates = forced ? [forced] : BACKEND_ORDER;
  const skipped: BackendReport['skipped'] = [];
  for (const name of candidates) {
    try {
      const tfBackend = await load(name);
      const report: BackendReport = { name, tfBackend, skipped };
      if (name === 'wasm') report.simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
      current = { key, report };
      return report;
    } catch (err) {
      skipped.push({ name, reason: firstLine(err) });
    }
  }
  const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  throw new BackendError(
    'BACKEND_UNAVAILABLE',
    forced
      ? `The ${forced} backend cannot be used (${why}). ${forced.startsWith('node') ? 'Install it with npm where libtensorflow can be downloaded (see README), or ' : ''}choose another with --backend or FLOWDESK_BACKEND.`
      : `No compute backend could be loaded (${why}).`,
  );
}

/** One line for people: what runs, and why the ones before it did not. */
export function describeBackend(r: BackendReport): string {
  const extra = r.name === 'wasm' ? ` (SIMD ${r.simd ? 'on' : 'off'})` : '';
  const skipped = r.skipped.length ? ` — skipped ${r.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}` : '';
  return `backend: ${r.name}${extra}${skipped}`;
}
