// A trace records what kernels compute from its inputs without computing it: those values hold no
// memory (onnx/trace-backend.ts), so tracing a large batch costs its graph, not its activations
// (flow matching's traced ODE at 64 images would otherwise need tens of gigabytes of wasm heap).
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { initBackend } from '../../main/engine/backend.ts';
import { traceToOnnx } from '../../main/engine/onnx/trace-backend.ts';

/** The wasm backend's heap, which grows and never shrinks. */
function wasmHeapBytes(): number {
  return (tf.findBackend('wasm') as unknown as { wasm: { HEAP8: Int8Array } }).wasm.HEAP8.length;
}

describe('tracing memory', () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('gives values computed from the inputs no memory, and frees what it tracks', () => {
    const x = tf.ones([1, 1000]);
    const tensors = tf.memory().numTensors;
    const heap = wasmHeapBytes();
    // 250 million floats: a gigabyte in each of the tiled, scaled and split values.
    const graph = traceToOnnx('big', { x }, () =>
      tf.tidy(() => {
        const [a, b] = tf.split(tf.reshape(tf.mul(tf.tile(x, [250_000, 1]), 2), [2, 125_000_000]), 2, 0);
        return { y: tf.sum(tf.add(a, b)) };
      }),
    );
    expect(graph.nodes.map((n) => n.op)).toEqual(expect.arrayContaining(['Tile', 'Mul', 'Reshape', 'Split', 'Add']));
    expect(wasmHeapBytes() - heap).toBeLessThan(1e8);
    expect(tf.memory().numTensors).toBe(tensors);
    x.dispose();
  });
});
