// The hand-written ONNX encoder against onnxruntime-node: every attribute kind, symbolic dims,
// negative int64s, bool/int32/int64 constants and large or many initializers load and run, with
// outputs checked against plain JavaScript. onnxruntime-node is optional, so without it they skip.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { attr, encodeModel, type OnnxGraph, type OnnxTensor } from '../../main/engine/onnx/onnx-proto.ts';
import { expectClose } from '../helpers/expect-close.ts';

// Just the parts of onnxruntime-node used here, so type checking does not need the package.
interface OrtTensor {
  data: ArrayLike<number>;
  dims: readonly number[];
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(model: Uint8Array): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor;
}

const loaded: { ort: Ort } | { reason: string } = (() => {
  try {
    return { ort: createRequire(import.meta.url)('onnxruntime-node') as Ort };
  } catch (err) {
    return { reason: `onnxruntime-node (optional) cannot be loaded: ${(err as Error).message.split('\n')[0]}` };
  }
})();
const reason = 'reason' in loaded ? loaded.reason : '';

type Feed = [data: Float32Array, dims: number[]];

/** Encodes `graph`, runs it once per feed set, and returns each run's outputs. */
async function run(graph: OnnxGraph, ...feedSets: Record<string, Feed>[]): Promise<Record<string, OrtTensor>[]> {
  if (!('ort' in loaded)) throw new Error(reason);
  const { ort } = loaded;
  const session = await ort.InferenceSession.create(encodeModel(graph));
  try {
    const results = [];
    for (const feeds of feedSets) {
      results.push(await session.run(Object.fromEntries(Object.entries(feeds).map(([name, [data, dims]]) => [name, new ort.Tensor('float32', data, dims)]))));
    }
    return results;
  } finally {
    await session.release();
  }
}

/** Deterministic values in [-1, 1) that are not all alike. */
function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.31 + i * 1.37));
}

const f32 = (name: string, dims: number[], data: Float32Array): OnnxTensor => ({ name, dtype: 'float32', dims, data });
const i64 = (name: string, data: number[]): OnnxTensor => ({ name, dtype: 'int64', dims: [data.length], data: BigInt64Array.from(data.map(BigInt)) });

/** NCHW convolution with pads [top, left, bottom, right], the plain way. */
function naiveConv(x: Float32Array, [n, c, h, w]: number[], k: Float32Array, [m, , kh, kw]: number[], bias: Float32Array, pads: number[], [sh, sw]: number[]) {
  const oh = Math.floor((h + pads[0] + pads[2] - kh) / sh) + 1;
  const ow = Math.floor((w + pads[1] + pads[3] - kw) / sw) + 1;
  const out = new Float32Array(n * m * oh * ow);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < m; o++) {
      for (let y = 0; y < oh; y++) {
        for (let xo = 0; xo < ow; xo++) {
          let s = bias[o];
          for (let ci = 0; ci < c; ci++) {
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const yi = y * sh + i - pads[0];
                const xi = xo * sw + j - pads[1];
                if (yi >= 0 && yi < h && xi >= 0 && xi < w) s += x[((b * c + ci) * h + yi) * w + xi] * k[((o * c + ci) * kh + i) * kw + j];
              }
            }
          }
          out[((b * m + o) * oh + y) * ow + xo] = s;
        }
      }
    }
  }
  return { out, dims: [n, m, oh, ow] };
}

describe('encodeModel', () => {
  it('refuses tensor data that does not match its dtype and dims', () => {
    const graph = (t: OnnxTensor): OnnxGraph => ({ name: 'g', nodes: [], inputs: [], outputs: [], initializers: [t] });
    expect(() => encodeModel(graph(f32('w', [2, 3], new Float32Array(5))))).toThrow(/tensor w: float32 \[2, 3\] needs a Float32Array of 6, got a Float32Array of 5/);
    expect(() => encodeModel(graph({ name: 'k', dtype: 'int64', dims: [2], data: Int32Array.of(1, 2) }))).toThrow(/needs a BigInt64Array/);
  });
});

describe.skipIf(reason !== '')(reason ? `encoded models in onnxruntime — skipped: ${reason}` : 'encoded models in onnxruntime', () => {
  it('runs Add and Mul with an initializer at two sizes of a symbolic batch dim', async () => {
    const w = values(3, 1);
    const graph: OnnxGraph = {
      name: 'add_mul',
      nodes: [
        { op: 'Add', inputs: ['a', 'b'], outputs: ['s'], name: 'add' },
        { op: 'Mul', inputs: ['s', 'w'], outputs: ['y'] },
      ],
      inputs: [
        { name: 'a', dtype: 'float32', dims: ['n', 3] },
        { name: 'b', dtype: 'float32', dims: ['n', 3] },
      ],
      outputs: [{ name: 'y', dtype: 'float32', dims: ['n', 3] }],
      initializers: [f32('w', [3], w)],
    };
    const feeds = [2, 5].map((n) => ({ a: [values(n * 3, 2), [n, 3]], b: [values(n * 3, 3), [n, 3]] }) satisfies Record<string, Feed>);
    const results = await run(graph, ...feeds);
    results.forEach(({ y }, r) => {
      const { a, b } = feeds[r];
      expect(y.dims).toEqual(a[1]);
      expectClose(y.data, a[0].map((v, i) => (v + b[0][i]) * w[i % 3]), 1e-6);
    });
  });

  it('runs Conv with ints attributes (asymmetric pads, strides) and a bias, matching a naive convolution', async () => {
    const [xDims, kDims, pads, strides] = [[1, 2, 4, 4], [3, 2, 3, 3], [1, 0, 1, 2], [2, 1]];
    const [x, k, bias] = [values(32, 4), values(54, 5), values(3, 6)];
    const graph: OnnxGraph = {
      name: 'conv',
      nodes: [{ op: 'Conv', inputs: ['x', 'k', 'bias'], outputs: ['y'], attributes: [attr.ints('pads', pads), attr.ints('strides', strides), attr.ints('kernel_shape', [3, 3])] }],
      inputs: [{ name: 'x', dtype: 'float32', dims: xDims }],
      outputs: [{ name: 'y', dtype: 'float32', dims: [1, 3, 'h', 'w'] }],
      initializers: [f32('k', kDims, k), f32('bias', [3], bias)],
    };
    const [{ y }] = await run(graph, { x: [x, xDims] });
    const expected = naiveConv(x, xDims, k, kDims, bias, pads, strides);
    expect(y.dims).toEqual([1, 3, 2, 4]);
    expect(y.dims).toEqual(expected.dims);
    expectClose(y.data, expected.out, 1e-5);
  });

  it('takes float, negative int and ints, and tensor attributes, int64 initializers and a negative Slice end', async () => {
    const x = values(24, 7);
    const graph: OnnxGraph = {
      name: 'attributes',
      nodes: [
        { op: 'LeakyRelu', inputs: ['x'], outputs: ['l'], attributes: [attr.float('alpha', 0.1)] },
        { op: 'Constant', inputs: [], outputs: ['shape'], attributes: [attr.tensor('value', i64('shape_value', [-1, 4]))] },
        { op: 'Reshape', inputs: ['l', 'shape'], outputs: ['r'] },
        { op: 'Slice', inputs: ['r', 'starts', 'ends', 'axes'], outputs: ['s'] },
        { op: 'Softmax', inputs: ['s'], outputs: ['soft'], attributes: [attr.int('axis', -1)] },
        { op: 'ReduceMean', inputs: ['s'], outputs: ['mean'], attributes: [attr.ints('axes', [-2]), attr.int('keepdims', 0)] },
      ],
      inputs: [{ name: 'x', dtype: 'float32', dims: [2, 3, 4] }],
      outputs: [
        { name: 'soft', dtype: 'float32', dims: [6, 3] },
        { name: 'mean', dtype: 'float32', dims: [3] },
      ],
      initializers: [i64('starts', [0]), i64('ends', [-1]), i64('axes', [1])],
    };
    const [{ soft, mean }] = await run(graph, { x: [x, [2, 3, 4]] });
    const rows = Array.from({ length: 6 }, (_, r) => Array.from(x.subarray(r * 4, r * 4 + 3), (v) => (v > 0 ? v : 0.1 * v)));
    expect(soft.dims).toEqual([6, 3]);
    expectClose(
      soft.data,
      rows.flatMap((row) => {
        const e = row.map(Math.exp);
        const sum = e.reduce((a, b) => a + b);
        return e.map((v) => v / sum);
      }),
      1e-6,
    );
    expect(mean.dims).toEqual([3]);
    expectClose(mean.data, [0, 1, 2].map((j) => rows.reduce((a, row) => a + row[j], 0) / 6), 1e-6);
  });

  it('takes floats and string attributes (Constant value_floats, reflect Pad)', async () => {
    const x = values(6, 8);
    const c = [0.5, -1.25, 3];
    const graph: OnnxGraph = {
      name: 'floats_string',
      nodes: [
        { op: 'Constant', inputs: [], outputs: ['c'], attributes: [attr.floats('value_floats', c)] },
        { op: 'Add', inputs: ['x', 'c'], outputs: ['sum'] },
        { op: 'Pad', inputs: ['sum', 'pads', ''], outputs: ['y'], attributes: [attr.string('mode', 'reflect')] },
      ],
      inputs: [{ name: 'x', dtype: 'float32', dims: [2, 3] }],
      outputs: [{ name: 'y', dtype: 'float32', dims: [2, 5] }],
      initializers: [i64('pads', [0, 1, 0, 1])],
    };
    const [{ y }] = await run(graph, { x: [x, [2, 3]] });
    const sum = Array.from(x, (v, i) => v + c[i % 3]);
    expect(y.dims).toEqual([2, 5]);
    expectClose(y.data, [0, 1].flatMap((r) => [1, 0, 1, 2, 1].map((j) => sum[r * 3 + j])), 1e-6);
  });

  it('uses bool and int32 initializers (Where on a bool mask, Cast from int32)', async () => {
    const x = values(5, 9);
    const mask = [1, 0, 0, 1, 1];
    const ints = [-3, 7, 2147483647, 0, -2147483648];
    const graph: OnnxGraph = {
      name: 'where_cast',
      nodes: [
        { op: 'Cast', inputs: ['k'], outputs: ['kf'], attributes: [attr.int('to', 1)] },
        { op: 'Where', inputs: ['mask', 'x', 'kf'], outputs: ['y'] },
      ],
      inputs: [{ name: 'x', dtype: 'float32', dims: [5] }],
      outputs: [{ name: 'y', dtype: 'float32', dims: [5] }],
      initializers: [
        { name: 'mask', dtype: 'bool', dims: [5], data: Uint8Array.from(mask) },
        { name: 'k', dtype: 'int32', dims: [5], data: Int32Array.from(ints) },
      ],
    };
    const [{ y }] = await run(graph, { x: [x, [5]] });
    expect(Array.from(y.data)).toEqual(mask.map((m, i) => (m ? x[i] : Math.fround(ints[i]))));
  });

  it('keeps hundreds of kilobyte-sized initializers in order along a chain of 300 Adds', async () => {
    const [count, width] = [300, 400];
    const weights = Array.from({ length: count }, (_, i) => values(width, 20 + i));
    const graph: OnnxGraph = {
      name: 'chain',
      nodes: weights.map((_, i) => ({ op: 'Add', inputs: [i ? `h${i}` : 'x', `w${i}`], outputs: [i === count - 1 ? 'y' : `h${i + 1}`] })),
      inputs: [{ name: 'x', dtype: 'float32', dims: [width] }],
      outputs: [{ name: 'y', dtype: 'float32', dims: [width] }],
      initializers: weights.map((w, i) => f32(`w${i}`, [width], w)),
    };
    const x = values(width, 11);
    const [{ y }] = await run(graph, { x: [x, [width]] });
    expectClose(y.data, Array.from(x, (v, j) => weights.reduce((a, w) => a + w[j], v)), 1e-4);
  });

  it('carries a 1e6-element initializer (from an offset view) through Identity bit for bit', async () => {
    const n = 1_000_000;
    const w = values(n + 3, 10).subarray(3);
    const graph: OnnxGraph = {
      name: 'big',
      nodes: [{ op: 'Identity', inputs: ['w'], outputs: ['y'] }],
      inputs: [],
      outputs: [{ name: 'y', dtype: 'float32', dims: [1000, 1000] }],
      initializers: [f32('w', [1000, 1000], w)],
    };
    const model = encodeModel(graph);
    expect(model.length).toBeGreaterThan(4 * n);
    const [{ y }] = await run(graph, {});
    expect(y.dims).toEqual([1000, 1000]);
    const out = y.data as Float32Array;
    expect(Buffer.from(out.buffer, out.byteOffset, out.byteLength).equals(Buffer.from(w.buffer, w.byteOffset, w.byteLength))).toBe(true);
  });
});
