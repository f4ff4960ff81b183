// onnxruntime-node, the native CPU path for training steps and inference: an optional
// dependency, so loading it can fail and says why; sessions use every core by default.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type * as OrtModule from 'onnxruntime-node';
import { encodeModel, type OnnxGraph } from './onnx-proto.ts';

export type Ort = typeof OrtModule;
export type OrtSession = OrtModule.InferenceSession;

// Not named `require`: the CommonJS bundle of the app worker already declares one.
const requireOptional = createRequire(import.meta.url);
let loaded: { ort: Ort } | { reason: string } | null = null;

/** onnxruntime-node, or why it cannot run here. */
export function loadOrt(): { ort: Ort } | { reason: string } {
  if (loaded) return loaded;
  try {
    loaded = { ort: requireOptional('onnxruntime-node') as Ort };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    // A global install without ONNXRUNTIME_NODE_INSTALL=skip runs its install script, which fails where it cannot download CUDA libraries, and npm then drops it.
    loaded = { reason: code === 'MODULE_NOT_FOUND' ? 'onnxruntime-node is not installed (an optional dependency; npm drops it when its install script cannot download CUDA libraries: install FlowDesk with ONNXRUNTIME_NODE_INSTALL=skip)' : `onnxruntime-node failed to load: ${msg}` };
  }
  return loaded;
}

/** A session for `graph` on `threads` threads (default: every core). */
export async function createSession(ort: Ort, graph: OnnxGraph, threads = availableParallelism()): Promise<OrtSession> {
  return ort.InferenceSession.create(encodeModel(graph), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}
