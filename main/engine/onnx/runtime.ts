// onnxruntime-node, the native CPU path for training steps and inference: an optional dependency
// (or `flowdesk setup onnx`'s copy), so loading it can fail and says why; sessions use every core by default.
import { availableParallelism } from 'node:os';
import type * as OrtModule from 'onnxruntime-node';
import { firstLine } from '../errors.ts';
import { requireFirst } from '../require-first.ts';
import { encodeModel, type OnnxGraph } from './onnx-proto.ts';
import { ORT_PACKAGE, ortSetupDir } from './ort-package.ts';

export type Ort = typeof OrtModule;
export type OrtSession = OrtModule.InferenceSession;

let loaded: { ort: Ort; from: string } | { reason: string } | null = null;

/**
 * onnxruntime-node and the folder it loaded from, or why it cannot run here. FlowDesk's own copy
 * comes first (node's resolution from this module), then the one `flowdesk setup onnx` installed.
 */
export function loadOrt(): { ort: Ort; from: string } | { reason: string } {
  if (loaded) return loaded;
  const found = requireFirst<Ort>(ORT_PACKAGE, [import.meta.url, ...setupFolder()]);
  if ('module' in found) loaded = { ort: found.module, from: found.from };
  else if ('failed' in found) loaded = { reason: `${ORT_PACKAGE} in ${found.from} failed to load: ${firstLine(found.failed)}` };
  // A global install without ONNXRUNTIME_NODE_INSTALL=skip runs its install script, which fails where it cannot download CUDA libraries, and npm then drops it.
  else loaded = { reason: `${ORT_PACKAGE} is not installed (npm drops it when its install script cannot download CUDA libraries): run \`flowdesk setup onnx\`, or install FlowDesk with ONNXRUNTIME_NODE_INSTALL=skip` };
  return loaded;
}

/** `flowdesk setup onnx`'s folder as a place to resolve from, or none when FlowDesk's package.json pins no version. */
function setupFolder(): string[] {
  try {
    return [`${ortSetupDir()}/`];
  } catch {
    return [];
  }
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
