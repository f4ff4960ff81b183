// Runs a tfjs function of float32 inputs twice: on tfjs itself, and traced to ONNX and run by
// onnxruntime, so kernel tests compare the two results output by output.
import * as tf from '../../main/engine/tf.ts';
import type { OnnxGraph } from '../../main/engine/onnx/onnx-proto.ts';
import { createSession, type Ort } from '../../main/engine/onnx/runtime.ts';
import { traceToOnnx } from '../../main/engine/onnx/trace-backend.ts';

export type Inputs = Record<string, [Float32Array, number[]]>;

export interface BothWays {
  tfjs: Record<string, Float32Array>;
  onnx: Record<string, Float32Array>;
  /** Each output's shape from tfjs and from onnxruntime. */
  shapes: { tfjs: Record<string, number[]>; onnx: Record<string, number[]> };
  graph: OnnxGraph;
}

/** `fn`'s outputs by name from tfjs and from its traced graph on onnxruntime (one thread). */
export async function bothWays(ort: Ort, inputs: Inputs, fn: (x: Record<string, tf.Tensor>) => Record<string, tf.Tensor>): Promise<BothWays> {
  const tensors = Object.fromEntries(Object.entries(inputs).map(([name, [data, shape]]) => [name, tf.tensor(data, shape)]));
  try {
    const tfjsShapes: Record<string, number[]> = {};
    const tfjs = tf.tidy(() =>
      Object.fromEntries(
        Object.entries(fn(tensors)).map(([name, t]) => {
          tfjsShapes[name] = t.shape;
          return [name, Float32Array.from(t.dataSync())];
        }),
      ),
    );
    const graph = traceToOnnx('kernels', tensors, () => fn(tensors));
    const session = await createSession(ort, graph, 1);
    try {
      // A graph leaves out inputs its outputs do not read.
      const feeds = Object.fromEntries(session.inputNames.map((name) => [name, new ort.Tensor('float32', inputs[name][0], inputs[name][1])]));
      const results = await session.run(feeds);
      const onnx = Object.fromEntries(graph.outputs.map(({ name }) => [name, Float32Array.from(results[name].data as ArrayLike<number>)]));
      const onnxShapes = Object.fromEntries(graph.outputs.map(({ name }) => [name, results[name].dims.map(Number)]));
      return { tfjs, onnx, shapes: { tfjs: tfjsShapes, onnx: onnxShapes }, graph };
    } finally {
      await session.release();
    }
  } finally {
    tf.dispose(Object.values(tensors));
  }
}
