// Where the Lab computes, decided here with the rest of the compute routing: tfjs on WebAssembly
// (XNNPACK's SIMD kernels), which ran Lab training steps 5 to 13 times faster than plain-JS cpu
// here (scratch measurement, docs/performance.md), falling back to cpu when wasm cannot load. GPU
// backends are not used: a Lab batch is a few hundred points, too small to pay for a dispatch.
import { initBackend, type BackendReport } from '../backend.ts';

/** Activates the Lab's backend in this thread or process, and says which one runs. */
export async function startLabBackend(): Promise<BackendReport> {
  try {
    return await initBackend({ force: 'wasm' });
  } catch {
    return await initBackend({ force: 'cpu' });
  }
}
