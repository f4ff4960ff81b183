// The one import point for TensorFlow.js in the engine. Backends register themselves into
// this same tfjs-core instance (see backend.ts), so every module shares one engine.
// tfjs-core's CommonJS entry registers no gradients, and its ES-module gradient files cannot
// be loaded by Node directly; the @tensorflow/tfjs bundle registers all of them on load.
import '@tensorflow/tfjs';

export * from '@tensorflow/tfjs-core';

import type { Tensor } from '@tensorflow/tfjs-core';

/** A tensor's values, read without blocking the thread, and the tensor freed. */
export async function readAndDispose(t: Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}
