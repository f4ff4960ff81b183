// The trace's rewrites of copies (onnx/traced-kernels.ts): a slice of a padded tensor becomes one
// Pad, and zero-padded parts that tile an axis and are added become one Concat; each gives tfjs's
// values, and cases outside those shapes keep their plain nodes. Outputs are copied only where needed.
// A convolution's unfold and fold (ops/conv-as-matmul.ts) are one gather each, and a ReLU's gradient
// leaves the product before it one reader, so onnxruntime can fuse the two. A large product's bias
// stays an Add of its own, which onnxruntime does not fuse into a Gemm. A weight's gradient over
// many rows is a batch of products of parts of the rows, summed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { initBackend } from '../../main/engine/backend.ts';
import { encodeModel } from '../../main/engine/onnx/onnx-proto.ts';
import { createSession, loadOrt } from '../../main/engine/onnx/runtime.ts';
import { traceToOnnx } from '../../main/engine/onnx/trace-backend.ts';
import type { OnnxGraph } from '../../main/engine/onnx/onnx-proto.ts';
import { Rng } from '../../main/engine/random.ts';
import { convAsMatMul } from '../../main/engine/ops/conv-as-matmul.ts';
import { expectClose } from '../helpers/expect-close.ts';

const loaded = loadOrt();
const ort = 'ort' in loaded ? loaded.ort : null;
const why = 'reason' in loaded ? ` — skipped: ${loaded.reason}` : '';

const ops = (graph: OnnxGraph) => graph.nodes.map((n) => n.op).filter((op) => op !== 'Identity');

/** The traced graph of `f` on x and its output on onnxruntime, beside tfjs's own output. */
async function traced(f: (x: tf.Tensor4D) => tf.Tensor, shape: [number, number, number, number]) {
  const x = tf.tensor4d(new Rng(4).fillNormal(new Float32Array(shape.reduce((a, b) => a * b))), shape);
  const graph = traceToOnnx('copies', { x }, () => ({ y: f(x) }));
  const session = await createSession(ort!, graph, 1);
  const out = await session.run({ x: new ort!.Tensor('float32', x.dataSync() as Float32Array, shape) });
  await session.release();
  const want = f(x);
  const result = { graph, got: out.y.data as Float32Array, want: want.dataSync(), shape: out.y.dims, wantShape: want.shape };
  tf.dispose([x, want]);
  return result;
}

describe.skipIf(!ort)(`copies in traced graphs${why}`, () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('writes a slice of a padded tensor as one Pad, cropping with negative pads', async () => {
    // Crops inside the padding on one side and into the data on the other.
    const { graph, got, want, shape, wantShape } = await traced((x) => tf.slice(tf.pad(x, [[0, 0], [1, 1], [2, 0], [0, 0]]), [0, 0, 3, 0], [-1, 3, 2, -1]), [2, 4, 5, 3]);
    expect(ops(graph)).toEqual(['Pad']);
    expect(shape).toEqual(wantShape);
    expectClose(got, want, 0, 0);
  });

  it('keeps a Slice where it cuts the innermost axis of a padded tensor', async () => {
    const { graph, got, want } = await traced((x) => tf.slice(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), [0, 1, 0, 1], [-1, 3, 4, 2]), [2, 4, 5, 3]);
    expect(ops(graph)).toEqual(['Pad', 'Slice']);
    expectClose(got, want, 0, 0);
  });

  it('adds padded parts that tile an axis as one Concat, whatever their order', async () => {
    const parts = (x: tf.Tensor4D) => [tf.pad(tf.slice(x, [0, 0, 0, 2], [-1, -1, -1, 3]), [[0, 0], [0, 0], [0, 0], [2, 1]]), tf.pad(tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, 2]), [[0, 0], [0, 0], [0, 0], [0, 4]]), tf.pad(tf.slice(x, [0, 0, 0, 5], [-1, -1, -1, 1]), [[0, 0], [0, 0], [0, 0], [5, 0]])];
    const three = await traced((x) => tf.addN(parts(x)), [2, 3, 3, 6]);
    expect(ops(three.graph)).not.toContain('Sum');
    expectClose(three.got, three.want, 0, 0);
    const two = await traced((x) => {
      const [a, b] = [tf.slice(x, [0, 0, 0, 0], [-1, 2, -1, -1]), tf.slice(x, [0, 2, 0, 0], [-1, 1, -1, -1])];
      return tf.add(tf.pad(tf.exp(b), [[0, 0], [2, 0], [0, 0], [0, 0]]), tf.pad(tf.neg(a), [[0, 0], [0, 1], [0, 0], [0, 0]]));
    }, [2, 3, 4, 2]);
    expect(ops(two.graph)).toContain('Concat');
    expect(ops(two.graph)).not.toContain('Add');
    expectClose(two.got, two.want, 1e-6, 1e-6);
  });

  it('keeps the sum where padded parts overlap or leave a gap', async () => {
    const overlap = await traced((x) => tf.add(tf.pad(tf.neg(x), [[0, 0], [0, 0], [0, 0], [0, 2]]), tf.pad(tf.exp(x), [[0, 0], [0, 0], [0, 0], [1, 1]])), [1, 2, 2, 3]);
    expect(ops(overlap.graph)).toContain('Add');
    expectClose(overlap.got, overlap.want, 1e-6, 1e-6);
    const gap = await traced((x) => tf.add(tf.pad(tf.neg(x), [[0, 0], [0, 0], [0, 0], [0, 4]]), tf.pad(tf.exp(x), [[0, 0], [0, 0], [0, 0], [4, 0]])), [1, 2, 2, 3]);
    expect(ops(gap.graph)).toContain('Add');
    expectClose(gap.got, gap.want, 1e-6, 1e-6);
  });

  it('names an output after the node that computes it, copying only an input or a value two outputs share', async () => {
    const x = tf.tensor4d(new Rng(5).fillNormal(new Float32Array(12)), [1, 2, 2, 3]);
    const graph = traceToOnnx('outputs', { x }, () => {
      const e = tf.exp(x);
      return { y: tf.neg(x), a: e, b: e, input: tf.clone(x) };
    });
    expect(graph.nodes.filter((n) => n.op === 'Identity').map((n) => n.outputs[0])).toEqual(['a', 'b', 'input']);
    expect(graph.nodes.find((n) => n.op === 'Neg')?.outputs).toEqual(['y']);
    const session = await createSession(ort!, graph, 1);
    const out = await session.run({ x: new ort!.Tensor('float32', x.dataSync() as Float32Array, x.shape) });
    await session.release();
    const values = x.dataSync();
    expectClose(out.y.data as Float32Array, values.map((v) => -v), 0, 0);
    for (const name of ['a', 'b']) expectClose(out[name].data as Float32Array, values.map(Math.exp), 1e-6, 1e-6);
    expectClose(out.input.data as Float32Array, values, 0, 0);
    x.dispose();
  });

  it('unfolds and folds a convolution with one Pad and one Gather each, forward and backward', async () => {
    // Narrow input (unfold, then fold in the gradient) and wide input (per-tap products folded).
    for (const filterShape of [[3, 3, 2, 5], [3, 3, 5, 2]] as [number, number, number, number][]) {
      const w = tf.tensor4d(new Rng(6).fillNormal(new Float32Array(filterShape.reduce((a, b) => a * b)), 0.5), filterShape);
      const r = new Rng(7).fillNormal(new Float32Array(2 * 4 * 5 * filterShape[3]));
      // The input's gradient of a weighted sum of squares: the forward pass's unfold (or fold), then its gradient, a fold (or unfold).
      const { graph, got, want } = await traced((x) => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.square(convAsMatMul(a as tf.Tensor4D, w, null, 'linear', 'same')), tf.tensor4d(r, [2, 4, 5, filterShape[3]]))))(x), [2, 4, 5, filterShape[2]]);
      const count = (op: string) => ops(graph).filter((o) => o === op).length;
      expect([count('Gather'), count('Pad')]).toEqual([2, 2]);
      for (const op of ['Concat', 'Split', 'Sum', 'Slice']) expect(ops(graph)).not.toContain(op);
      expectClose(got, want, 1e-5, 1e-5);
      w.dispose();
    }
  });

  it("compares a ReLU's output in its gradient, so the product before it has one reader", async () => {
    const w = tf.tensor2d(new Rng(8).fillNormal(new Float32Array(3 * 4)), [3, 4]);
    const b = tf.tensor1d(new Rng(9).fillNormal(new Float32Array(4)));
    const { graph, got, want } = await traced((x) => tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.relu(tf.add(tf.matMul(tf.reshape(a, [-1, 3]), w), b)))))(x), [2, 3, 2, 3]);
    const relu = graph.nodes.find((n) => n.op === 'Relu')!;
    const preActivation = relu.inputs[0];
    expect(graph.nodes.filter((n) => n.inputs.includes(preActivation)).map((n) => n.op)).toEqual(['Relu']);
    expect(graph.nodes.find((n) => n.op === 'Greater')!.inputs[0]).toBe(relu.outputs[0]);
    expectClose(got, want, 1e-5, 1e-5);
    tf.dispose([w, b]);
  });

  /** The op types of `graph` as onnxruntime's optimizer at level 'all' leaves them (the model it writes, read as text). */
  async function optimizedHas(graph: OnnxGraph, op: string): Promise<boolean> {
    const dir = mkdtempSync(join(tmpdir(), 'flowdesk-optimized-'));
    try {
      const path = join(dir, 'model.onnx');
      await ort!.InferenceSession.create(encodeModel(graph), { graphOptimizationLevel: 'all', optimizedModelFilePath: path, logSeverityLevel: 3 });
      return readFileSync(path).toString('latin1').includes(op);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("adds a large product's bias on its own, which onnxruntime leaves out of its Gemm, with tfjs's values", async () => {
    const w = tf.tensor2d(new Rng(10).fillNormal(new Float32Array(8 * 256)), [8, 256]);
    const b = tf.tensor1d(new Rng(11).fillNormal(new Float32Array(256)));
    const layer = (a: tf.Tensor) => tf.relu(tf.add(tf.matMul(tf.reshape(a, [-1, 8]), w), b));
    // 1,024 rows of 256: 2^18 values, the smallest product whose bias is added apart.
    const { graph: forward, got, want } = await traced(layer, [2, 32, 16, 8]);
    expectClose(got, want, 1e-5, 1e-5);
    const bias = forward.nodes.find((n) => n.op === 'Add')!;
    expect(forward.nodes.find((n) => n.outputs.includes(bias.inputs[0]))!.op).toBe('MatMul');
    expect(await optimizedHas(forward, 'Gemm')).toBe(false);
    // Its gradient too, and below that size the bias goes back into onnxruntime's Gemm.
    const grad = await traced((x) => tf.grad((a: tf.Tensor) => tf.sum(tf.square(layer(a))))(x), [2, 32, 16, 8]);
    expectClose(grad.got, grad.want, 1e-4, 1e-5);
    const small = await traced(layer, [2, 4, 4, 8]);
    expectClose(small.got, small.want, 1e-5, 1e-5);
    expect(await optimizedHas(small.graph, 'FusedGemm')).toBe(true);
    tf.dispose([w, b]);
  });

  it("multiplies a weight's gradient over many rows as a batch of parts, summed, with tfjs's values", async () => {
    const w = tf.tensor2d(new Rng(12).fillNormal(new Float32Array(8 * 16)), [8, 16]);
    // The gradient of w is xᵀ dy, x with a row per pixel: `rows` rows of 8 against rows of 16.
    const weightGradient = (x: tf.Tensor4D) => tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.matMul(tf.reshape(x, [-1, 8]), v as tf.Tensor2D))))(w);
    const transposedGemms = (graph: OnnxGraph) => graph.nodes.filter((n) => n.op === 'Gemm' && n.attributes?.some((a) => a.name === 'transA' && a.value === 1)).length;
    const partShapes = (graph: OnnxGraph) => graph.nodes.filter((n) => n.op === 'Transpose').map((n) => graph.nodes.find((m) => m.outputs.includes(n.inputs[0]))!).filter((r) => r.op === 'Reshape').map((r) => graph.initializers.find((i) => i.name === r.inputs[1])!.data);
    // 1,536 rows: three parts of 512; 1,100: two of 550, the most parts of 512 rows or more that divide them.
    for (const [shape, parts] of [[[3, 32, 16, 8], [3, 512, 8]], [[1, 22, 50, 8], [2, 550, 8]]] as [[number, number, number, number], number[]][]) {
      const { graph, got, want } = await traced(weightGradient, shape);
      expect(transposedGemms(graph)).toBe(0);
      expect(partShapes(graph).map((d) => [...(d as BigInt64Array)].map(Number))).toEqual([parts]);
      expect(ops(graph)).toContain('ReduceSum');
      expectClose(got, want, 1e-4, 1e-5);
    }
    // Below two parts of 512 rows (1,000), or where no count of them divides the rows (1,025 = 5² 41), one Gemm.
    for (const shape of [[1, 20, 50, 8], [1, 25, 41, 8]] as [number, number, number, number][]) {
      const { graph, got, want } = await traced(weightGradient, shape);
      expect(transposedGemms(graph)).toBe(1);
      expectClose(got, want, 1e-4, 1e-5);
    }
    w.dispose();
  });
});
