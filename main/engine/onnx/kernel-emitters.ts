// How each tfjs kernel a flow's forward and backward pass runs becomes ONNX nodes. Kernels see
// concrete shapes, so shapes, axes and paddings are written as constants. NHWC convolutions run
// as NCHW Conv between transposes, which onnxruntime's layout optimiser cancels pairwise.
import type { OnnxAttribute } from './onnx-proto.ts';
import { TraceError, type GraphBuilder, type TensorRef } from './graph-builder.ts';

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
const float = (name: string, value: number): OnnxAttribute => ({ name, type: 'float', value });

function input(g: GraphBuilder, k: KernelCall, key: string): string {
  const ref = k.inputs[key];
  if (!ref) throw new TraceError(`kernel input ${key} is missing`);
  return g.value(ref);
}

/** The numbered inputs of a variadic kernel (Concat, AddN), in order. */
function listed(g: GraphBuilder, k: KernelCall): string[] {
  return Object.keys(k.inputs)
    .filter((key) => /^\d+$/.test(key))
    .sort((a, b) => Number(a) - Number(b))
    .map((key) => input(g, k, key));
}

function axesOf(attr: unknown, rank: number): number[] {
  const list = Array.isArray(attr) ? (attr as number[]) : attr === undefined || attr === null ? Array.from({ length: rank }, (_, i) => i) : [attr as number];
  return list.map((a) => (a < 0 ? a + rank : a));
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
  if (activation === 'sigmoid') return g.op('Sigmoid', [value]);
  throw new TraceError(`fused activation ${String(activation)} has no ONNX export`);
}

/** [begin..., end...] pads for the spatial axes of a 2-D convolution from tfjs's `pad` attribute. */
function convPads(pad: unknown, filter: number[], dilations: number[]): number[] {
  const [kh, kw] = filter;
  if (pad === 'valid') return [0, 0, 0, 0];
  if (pad === 'same') {
    const th = (kh - 1) * dilations[0];
    const tw = (kw - 1) * dilations[1];
    return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
  }
  if (Array.isArray(pad)) {
    const [, [t, b], [l, r]] = pad as number[][];
    return [t, l, b, r];
  }
  throw new TraceError(`convolution padding ${String(pad)} has no ONNX export`);
}

function pair(v: unknown): number[] {
  return Array.isArray(v) ? (v as number[]) : [(v as number) ?? 1, (v as number) ?? 1];
}

const conv2d: Emitter = (g, k) => {
  const { attrs } = k;
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') throw new TraceError(`conv2d data format ${String(attrs.dataFormat)} has no ONNX export`);
  const filterShape = k.inputs.filter!.shape;
  const dilations = pair(attrs.dilations);
  const x = g.op('Transpose', [input(g, k, 'x')], [ints('perm', [0, 3, 1, 2])]);
  const w = g.op('Transpose', [input(g, k, 'filter')], [ints('perm', [3, 2, 0, 1])]);
  const args = k.inputs.bias ? [x, w, input(g, k, 'bias')] : [x, w];
  const y = g.op('Conv', args, [ints('pads', convPads(attrs.pad, filterShape, dilations)), ints('strides', pair(attrs.strides)), ints('dilations', dilations)]);
  return [g.op('Transpose', [activate(g, y, attrs.activation)], [ints('perm', [0, 2, 3, 1])])];
};

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
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  Pow: binary('Pow'),
  Greater: binary('Greater'),
  GreaterEqual: binary('GreaterOrEqual'),
  Less: binary('Less'),
  LessEqual: binary('LessOrEqual'),
  Equal: binary('Equal'),
  LogicalAnd: binary('And'),
  SquaredDifference: (g, k) => {
    const d = g.op('Sub', [input(g, k, 'a'), input(g, k, 'b')]);
    return [g.op('Mul', [d, d])];
  },
  Neg: unary('Neg'),
  Exp: unary('Exp'),
  Log: unary('Log'),
  Sqrt: unary('Sqrt'),
  Abs: unary('Abs'),
  Sigmoid: unary('Sigmoid'),
  Softplus: unary('Softplus'),
  Tanh: unary('Tanh'),
  Relu: unary('Relu'),
  Reciprocal: unary('Reciprocal'),
  Floor: unary('Floor'),
  Sign: unary('Sign'),
  Identity: unary('Identity'),
  Square: (g, k) => {
    const x = input(g, k, 'x');
    return [g.op('Mul', [x, x])];
  },
  Rsqrt: (g, k) => [g.op('Reciprocal', [g.op('Sqrt', [input(g, k, 'x')])])],
  Log1p: (g, k) => [g.op('Log', [g.op('Add', [input(g, k, 'x'), g.scalar(1)])])],
  // tfjs: 1 where x > 0, else alpha.
  Step: (g, k) => {
    const positive = g.op('Cast', [g.op('Greater', [input(g, k, 'x'), g.scalar(0)])], [int('to', 1)]);
    const alpha = (k.attrs.alpha as number) ?? 0;
    return [alpha === 0 ? positive : g.op('Add', [g.op('Mul', [positive, g.scalar(1 - alpha)]), g.scalar(alpha)])];
  },
  LeakyRelu: (g, k) => [g.op('LeakyRelu', [input(g, k, 'x')], [float('alpha', k.attrs.alpha as number)])],
  ClipByValue: (g, k) => [g.op('Clip', [input(g, k, 'x'), g.scalar(k.attrs.clipValueMin as number), g.scalar(k.attrs.clipValueMax as number)])],
  Cast: (g, k) => {
    const to = TYPE_CODES[k.attrs.dtype as string];
    if (to === undefined) throw new TraceError(`cast to ${String(k.attrs.dtype)} has no ONNX export`);
    return [g.op('Cast', [input(g, k, 'x')], [int('to', to)])];
  },
  Select: (g, k) => [g.op('Where', [input(g, k, 'condition'), input(g, k, 't'), input(g, k, 'e')])],
  AddN: (g, k) => [g.op('Sum', listed(g, k))],
  Sum: reduce('ReduceSum'),
  Mean: reduce('ReduceMean'),
  Max: reduce('ReduceMax'),
  Min: reduce('ReduceMin'),
  Prod: reduce('ReduceProd'),
  Reshape: (g, k) => [g.op('Reshape', [input(g, k, 'x'), g.int64s(k.outputs[0].shape)])],
  Transpose: (g, k) => [g.op('Transpose', [input(g, k, 'x')], [ints('perm', k.attrs.perm as number[])])],
  BroadcastTo: (g, k) => [g.op('Expand', [input(g, k, 'x'), g.int64s(k.outputs[0].shape)])],
  Tile: (g, k) => [g.op('Tile', [input(g, k, 'x'), g.int64s(k.attrs.reps as number[])])],
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
  Conv2D: conv2d,
  FusedConv2D: conv2d,
};
