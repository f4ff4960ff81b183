// The compute backends a person can name (`--backend`, FLOWDESK_BACKEND), in the order `auto`
// tries them. The engine's chooser (main/engine/backend.ts) loads them; help and checks list them.

export const BACKEND_NAMES = ['node-gpu', 'webgpu', 'node', 'onnx', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
