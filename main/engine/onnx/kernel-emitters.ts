// How each tfjs kernel a flow's forward and backward pass runs becomes ONNX nodes: exactly the
// kernels Glow, RealNVP and NICE run while traced (convolutions arrive as matMuls, see
// ops/conv-as-matmul.ts); any other fails the trace naming it. Kernels see concrete shapes, so
// shapes, axes and paddings are written as constants.
import type { OnnxAttribute } from './onnx-proto.ts';
import { TraceError, type GraphBuilder, type TensorRef } from './graph-builder.ts';
import { axesOf, numberedKeys } from './kernel-shapes.ts';

export interface KernelCall {
  inputs: Record<string, TensorRef | undefined>;
  attrs: Record<string, unknown>;
  outputs: TensorRef[];
}

/** Emits the nodes of one kernel call and returns the names of its outputs, in order. */
type Emitter = (g: GraphBuilder, k: KernelCall) => string[];

/** Kernels whose outputs depend only on their inputs' shapes: constants whatever the inputs. */
export const SHAPE_ONLY_KERNELS = new Set(['Fill', 'ZerosLike', 'OnesLike']);

const ints = (name: string, value: number[]): OnnxAttribute => ({ name, type: 'ints', value });
const int = (name: string, value: number): OnnxAttribute => ({ name, type: 'int', value });

function input(g: GraphBuilder, k: KernelCall, key: string): string {
  const ref = k.inputs[key];
  if (!ref) throw new TraceError(`kernel input ${key} is missing`);
  return g.value(ref);
}

/** The numbered inputs of a variadic kernel (Concat, AddN), in order. */
function listed(g: GraphBuilder, k: KernelCall): string[] {
  return numberedKeys(k.inputs).map((key) => input(g, k, key));
}

function unary(op: string): Emitter {
  return (g, k) => [g.op(op, [input(g, k, 'x')])];
}

function binary(op: string): Emitter {
  return (g, k) => [g.op(op, [input(g, k, 'a'), input(g, k, 'b')])];
}

function activate(g: GraphBuilder, value: string, activation: unknown): string {
  if (activation === undefined || activation === null || activation === 'linear') return value;
  if (activation === 'relu') return g.op('Relu', [value]);
  throw new TraceError(`fused activation ${String(activation)} has no ONNX export`);
}

/** a times b with tfjs's transpose flags: Gemm for matrices (no copies), MatMul otherwise. */
function matMul(g: GraphBuilder, k: KernelCall, bias: string | null): string {
  const { transposeA, transposeB } = k.attrs as { transposeA?: boolean; transposeB?: boolean };
  const a = k.inputs.a!;
  const b = k.inputs.b!;
  if (a.shape.length === 2 && b.shape.length === 2) {
    const args = [input(g, k, 'a'), input(g, k, 'b')];
    if (bias) args.push(bias);
    return g.op('Gemm', args, [int('transA', transposeA ? 1 : 0), int('transB', transposeB ? 1 : 0)]);
  }
  const swap = (name: string, rank: number) => {
    const perm = Array.from({ length: rank }, (_, i) => i);
    [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
    return g.op('Transpose', [name], [ints('perm', perm)]);
  };
  const left = transposeA ? swap(input(g, k, 'a'), a.shape.length) : input(g, k, 'a');
  const right = transposeB ? swap(input(g, k, 'b'), b.shape.length) : input(g, k, 'b');
  const product = g.op('MatMul', [left, right]);
  return bias ? g.op('Add', [product, bias]) : product;
}

function reduce(op: string): Emitter {
  return (g, k) => {
    const x = k.inputs.x!;
    const rank = x.shape.length;
    const axes = axesOf(k.attrs.axis ?? k.attrs.reductionIndices, rank).sort((a, b) => a - b);
    const out = g.int64s(k.outputs[0].shape);
    const leading = axes.every((a, i) => a === i);
    const trailing = axes.every((a, i) => a === rank - axes.length + i);
    const split = leading ? axes.length : rank - axes.length;
    const rows = x.shape.slice(0, split).reduce((a, b) => a * b, 1);
    if (op === 'ReduceSum' && leading && axes.length < rank) {
      // Column sums as a product with a row of ones: onnxruntime's ReduceSum over the rows of a
      // narrow matrix (a bias gradient, [8192, 12]) runs several times slower than its Gemm.
      const matrix = g.op('Reshape', [input(g, k, 'x'), g.int64s([rows, -1])]);
      return [g.op('Reshape', [g.op('Gemm', [g.ones([1, rows]), matrix]), out])];
    }
    // Over the trailing axes: one axis of a matrix, which runs faster than several of a 4-D tensor.
    const flat = rank > 2 && axes.length > 1 && trailing;
    const value = flat ? g.op('Reshape', [input(g, k, 'x'), g.int64s([rows, -1])]) : input(g, k, 'x');
    const reduceAxes = flat ? [1] : axes;
    // ReduceSum takes its axes as an input from opset 13, the others from opset 18.
    const keep = int('keepdims', 0);
    const reduced = op === 'ReduceSum' ? g.op(op, [value, g.int64s(reduceAxes)], [keep]) : g.op(op, [value], [ints('axes', reduceAxes), keep]);
    return [g.op('Reshape', [reduced, out])];
  };
}

const TYPE_CODES: Record<string, number> = { float32: 1, int32: 6, bool: 9 };

export const EMITTERS: Record<string, Emitter> = {
  Add: binary('Add'),
  Sub: binary('Sub'),
  Multiply: binary('Mul'),
  RealDiv: binary('Div'),
  Neg: unary('Neg'),
  Exp: unary('Exp'),
  Sigmoid: unary('Sigmoid'),
  Softplus: unary('Softplus'),
  Relu: unary('Relu'),
  Identity: unary('Identity'),
  Square: (g, k) => {
    const x = input(g, k, 'x');
    return [g.op('Mul', [x, x])];
  },
  // tfjs: 1 where x > 0, else alpha.
  Step: (g, k) => {
    const positive = g.op('Cast', [g.op('Greater', [input(g, k, 'x'), g.scalar(0)])], [int('to', 1)]);
    const alpha = (k.attrs.alpha as number) ?? 0;
    return [alpha === 0 ? positive : g.op('Add', [g.op('Mul', [positive, g.scalar(1 - alpha)]), g.scalar(alpha)])];
  },
  Cast: (g, k) => {
    const to = TYPE_CODES[k.attrs.dtype as string];
    if (to === undefined) throw new TraceError(`cast to ${String(k.attrs.dtype)} has no ONNX export`);
    return [g.op('Cast', [input(g, k, 'x')], [int('to', to)])];
  },
  AddN: (g, k) => [g.op('Sum', listed(g, k))],
  Sum: reduce('ReduceSum'),
  Mean: reduce('ReduceMean'),
  Reshape: (g, k) => [g.op('Reshape', [input(g, k, 'x'), g.int64s(k.outputs[0].shape)])],
  Transpose: (g, k) => [g.op('Transpose', [input(g, k, 'x')], [ints('perm', k.attrs.perm as number[])])],
  Slice: (g, k) => {
    const shape = k.inputs.x!.shape;
    const begin = k.attrs.begin as number[];
    const size = k.attrs.size as number[];
    const ends = begin.map((b, i) => (size[i] === -1 ? shape[i] : b + size[i]));
    return [g.op('Slice', [input(g, k, 'x'), g.int64s(begin), g.int64s(ends), g.int64s(begin.map((_, i) => i))])];
  },
  Concat: (g, k) => {
    const rank = k.outputs[0].shape.length;
    return [g.op('Concat', listed(g, k), [int('axis', axesOf(k.attrs.axis, rank)[0])])];
  },
  Pack: (g, k) => {
    const axis = axesOf(k.attrs.axis, k.outputs[0].shape.length)[0];
    const axes = g.int64s([axis]);
    return [g.op('Concat', listed(g, k).map((t) => g.op('Unsqueeze', [t, axes])), [int('axis', axis)])];
  },
  Unpack: (g, k) => {
    const axis = axesOf(k.attrs.axis, k.inputs.value!.shape.length)[0];
    const axes = g.int64s([axis]);
    const parts = g.node('Split', [input(g, k, 'value'), g.int64s(k.outputs.map(() => 1))], [int('axis', axis)], k.outputs.length);
    return parts.map((p) => g.op('Squeeze', [p, axes]));
  },
  SplitV: (g, k) => {
    const x = k.inputs.x!;
    const axis = axesOf(k.attrs.axis, x.shape.length)[0];
    const sizes = k.outputs.map((o) => o.shape[axis]);
    return g.node('Split', [input(g, k, 'x'), g.int64s(sizes)], [int('axis', axis)], sizes.length);
  },
  PadV2: (g, k) => {
    const paddings = k.attrs.paddings as [number, number][];
    const pads = [...paddings.map((p) => p[0]), ...paddings.map((p) => p[1])];
    return [g.op('Pad', [input(g, k, 'x'), g.int64s(pads), g.scalar((k.attrs.constantValue as number) ?? 0)])];
  },
  BatchMatMul: (g, k) => [matMul(g, k, null)],
  _FusedMatMul: (g, k) => {
    if (k.inputs.preluActivationWeights) throw new TraceError('prelu activations have no ONNX export');
    const bias = k.inputs.bias ? input(g, k, 'bias') : null;
    return [activate(g, matMul(g, k, bias), k.attrs.activation)];
  },
};
