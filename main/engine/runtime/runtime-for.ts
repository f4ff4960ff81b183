// The one place that decides where a model's compute runs, from the backend initBackend chose:
// onnxruntime sessions on 'onnx', replica threads on wasm and plain cpu (whose kernels use the
// calling thread only), tfjs on the calling thread where the backend has its own threads.
import { activeBackend, initBackend, type BackendName, type BackendReport } from '../backend.ts';
import { BackendError } from '../errors.ts';
import type { FlowModel } from '../models/flow-model.ts';
import { loadOrt } from '../onnx/runtime.ts';
import type { ComputeRuntime } from './compute-runtime.ts';
import { OnnxRuntime } from './onnx-runtime.ts';
import { ReplicaRuntime } from './replica-runtime.ts';
import { TfjsRuntime } from './tfjs-runtime.ts';

export interface RuntimeOptions {
  /** The backend's name from initBackend's report. Defaults to the one active now. */
  backend?: BackendName | null;
  /**
   * Threads (replicas) or onnxruntime threads per session; null lets each job choose (replicas:
   * min(2, cores), fewer for a step too small to gain; onnxruntime: every core). Defaults to null.
   */
  threads?: number | null;
}

/**
 * Starts the backend every later runtime is chosen from (auto's pick, or `force`), once per
 * process, and reports it (for run.json and the person). Code above the runtime starts compute
 * here and never asks again which backend runs.
 */
export function startBackend(force?: BackendName): Promise<BackendReport> {
  return initBackend({ force });
}

/** Backends whose tfjs kernels run on the calling thread only, so replica threads add cores. */
const SINGLE_THREADED: ReadonlySet<BackendName> = new Set(['onnx', 'wasm', 'cpu']);

interface Chosen {
  backend: BackendName | null;
  threads: number | null;
  runtime: ComputeRuntime;
}
const chosen = new WeakMap<FlowModel, Chosen>();

function create(model: FlowModel, backend: BackendName | null, threads: number | null): ComputeRuntime {
  // Before any backend is chosen tfjs runs its default one, which may not be safe to replicate.
  const base = backend !== null && SINGLE_THREADED.has(backend) ? new ReplicaRuntime(model, threads) : new TfjsRuntime(model);
  if (backend !== 'onnx') return base;
  const ort = loadOrt();
  if ('reason' in ort) throw new BackendError('BACKEND_UNAVAILABLE', `The onnx backend cannot run this model: ${ort.reason}.`);
  return new OnnxRuntime(model, ort.ort, threads, base);
}

/**
 * The model's compute runtime, chosen on first use and kept until the model is disposed. A later
 * call that names another backend or thread count replaces it; one that names neither reuses it.
 */
export function runtimeFor(model: FlowModel, opts: RuntimeOptions = {}): ComputeRuntime {
  const existing = chosen.get(model);
  const backend = opts.backend === undefined ? (existing?.backend ?? activeBackend()) : opts.backend;
  const threads = opts.threads === undefined ? (existing?.threads ?? null) : opts.threads;
  if (existing && existing.backend === backend && existing.threads === threads) return existing.runtime;
  if (existing) void existing.runtime.dispose();
  const runtime = create(model, backend, threads);
  const entry = { backend, threads, runtime };
  chosen.set(model, entry);
  if (!existing) model.params.onDispose(() => void chosen.get(model)?.runtime.dispose());
  return runtime;
}
