// Every tfjs kernel a flow's forward and backward pass runs while traced, as one record each:
// how it becomes ONNX nodes and (where known) its output shapes: the kernels Glow, RealNVP and
// NICE run, with affine, additive or spline couplings, TarFlow's attention blocks, flow
// matching's velocity fields and the optimizer's update (convolutions arrive as matMuls, see
// ops/conv-as-matmul.ts); any other fails the trace naming it. Kernels see concrete shapes, so
// shapes, axes and paddings are written as constants.
import * as tf from '../tf.ts';
import { TraceError, type GraphBuilder, type PadRecord, type TensorRef } from './graph-builder.ts';
import { arg, axesOf, input, int, ints, listed, numbered, type KernelCall, type OutputSpec, type TracedKernel } from './kernel-call.ts';

/** Kernels whose outputs depend only on their inputs' shapes: constants whatever the inputs. */
export const SHAPE_ONLY_KERNELS = new Set(['Fill', 'ZerosLike', 'OnesLike']);

const spec = (shape: number[], like: TensorRef): OutputSpec[] => [{ shape, dtype: like.dtype as tf.DataType }];

/** The shape rule of kernels whose output is shaped and typed as their input `x`. */
const likeX: TracedKernel['shape'] = (k) => spec([...arg(k, 'x').shape], arg(k, 'x'));

/** A Slice call's begin and size per axis: tfjs passes them as given (a number for the first axis, -1 for "to the end"). */
function sliceParams(k: Omit<KernelCall, 'outputs'>): [number[], number[]] {
  const [begin, size] = tf.slice_util.parseSliceParams(arg(k, 'x') as unknown as tf.TensorInfo, k.attrs.begin as number | number[], k.attrs.size as number | number[]);
  return [begin, size];
}

function unary(op: string): TracedKernel {
  return { emit: (g, k) => [g.op(op, [input(g, k, 'x')])], shape: likeX };
}

function binary(op: string): TracedKernel {
  return {
    emit: (g, k) => [g.op(op, [input(g, k, 'a'), input(g, k, 'b')])],
    shape: (k) => spec(tf.broadcast_util.assertAndGetBroadcastShape(arg(k, 'a').shape, arg(k, 'b').shape), arg(k, 'a')),
  };
}

/** A comparison or logical op of two broadcast inputs, giving bools. */
function compare(op: string): TracedKernel {
  return {
    emit: (g, k) => [g.op(op, [input(g, k, 'a'), input(g, k, 'b')])],
    shape: (k) => [{ shape: tf.broadcast_util.assertAndGetBroadcastShape(arg(k, 'a').shape, arg(k, 'b').shape), dtype: 'bool' }],
  };
}

function activate(g: GraphBuilder, value: string, activation: unknown): string {
  if (activation === undefined || activation === null || activation === 'linear') return value;
  if (activation === 'relu') return g.op('Relu', [value]);
  throw new TraceError(`fused activation ${String(activation)} has no ONNX export`);
}

/**
 * a times b with tfjs's transpose flags: Gemm for transposed matrices or with a bias (no copies;
 * a weight's gradient over many rows in parts, productInParts), MatMul otherwise, plain matrices
 * included: onnxruntime fuses a MatMul and the Add of a bias that alone reads it into a Gemm,
 * which it does not do for a Gemm (tfjs adds the bias itself when it records gradients, as for a
 * coupling network's hidden layers).
 */
function matMul(g: GraphBuilder, k: KernelCall, bias: string | null): string {
  const { transposeA, transposeB } = k.attrs as { transposeA?: boolean; transposeB?: boolean };
  const a = arg(k, 'a');
  const b = arg(k, 'b');
  // tfjs's fused matMul (a dense layer with a bias) and its gradients pass matrices as batches of
  // one, [1, M, K]: multiplied as matrices, they too get Gemm's bias and transposes.
  const batchOfOne = (s: number[]) => s.length === 3 && s[0] === 1;
  if ([a, b].every((t) => t.shape.length === 2 || batchOfOne(t.shape)) && (a.shape.length === 3 || b.shape.length === 3)) {
    const matrix = (key: string, shape: number[]) => (shape.length === 2 ? input(g, k, key) : g.op('Reshape', [input(g, k, key), g.int64s(shape.slice(1))]));
    const product = gemm(g, matrix('a', a.shape), matrix('b', b.shape), a.shape.slice(-2), b.shape.slice(-2), bias, k);
    return g.op('Reshape', [product, g.int64s(k.outputs[0].shape)]);
  }
  if (a.shape.length === 2 && b.shape.length === 2 && (transposeA || transposeB || bias)) return gemm(g, input(g, k, 'a'), input(g, k, 'b'), a.shape, b.shape, bias, k);
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

/** The product of matrices a and b (shapes as stored) with the call's transpose flags and an optional bias. */
function gemm(g: GraphBuilder, a: string, b: string, aShape: number[], bShape: number[], bias: string | null, k: KernelCall): string {
  const { transposeA, transposeB } = k.attrs as { transposeA?: boolean; transposeB?: boolean };
  const inParts = transposeA && !transposeB && !bias ? productInParts(g, a, b, aShape, bShape[1]) : null;
  return inParts ?? g.op('Gemm', bias ? [a, b, bias] : [a, b], [int('transA', transposeA ? 1 : 0), int('transB', transposeB ? 1 : 0)]);
}

/** The fewest rows a part of productInParts has. */
const PART_ROWS = 512;

/**
 * aᵀ b for a [rows, m] and b [rows, n] with many rows (a weight's gradient: a layer's inputs
 * times its outputs' gradients, a row per pixel), as a batch of products of parts of the rows,
 * summed. onnxruntime's GEMM (MLAS) splits one product's output between its threads and each
 * thread packs, for itself, the whole of the operand whose columns it does not split: at Glow's
 * first level (8,192 rows) aᵀ b took twice as long as a forward product of the same size. A batch
 * goes a whole product to a thread. Glow's training step ran about 9% faster at K4 h128 and 2-5%
 * at K8 h256 (docs/performance.md, "weight gradients in parts"). Null where the rows do not make
 * two parts of PART_ROWS or more.
 */
function productInParts(g: GraphBuilder, a: string, b: string, [rows, m]: number[], n: number): string | null {
  let parts = Math.floor(rows / PART_ROWS);
  while (parts >= 2 && rows % parts !== 0) parts--;
  if (parts < 2) return null;
  const aParts = g.op('Transpose', [g.op('Reshape', [a, g.int64s([parts, rows / parts, m])])], [ints('perm', [0, 2, 1])]);
  const bParts = g.op('Reshape', [b, g.int64s([parts, rows / parts, n])]);
  return g.op('ReduceSum', [g.op('MatMul', [aParts, bParts]), g.int64s([0])], [int('keepdims', 0)]);
}

const matMulShape: TracedKernel['shape'] = (k) => {
  const [a, b] = [arg(k, 'a'), arg(k, 'b')];
  const m = k.attrs.transposeA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
  const n = k.attrs.transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  const batch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return [{ shape: [...batch, m, n], dtype: 'float32' }];
};

/**
 * The sum of zero-padded parts that tile one axis of `shape`, as their concatenation (or null):
 * tfjs's gradient of a slice pads it back to full size, so a split's gradients arrive as padded
 * parts added together (a coupling's two halves, its network's shift and scale).
 */
function concatOfPads(g: GraphBuilder, values: string[], shapes: number[][]): string | null {
  const shape = shapes[0];
  if (shapes.some((s) => s.join() !== shape.join())) return null;
  const parts: PadRecord[] = [];
  for (const v of values) {
    const p = g.padOf(v);
    if (!p || p.value !== 0) return null;
    parts.push(p);
  }
  const axes = new Set(parts.flatMap((p) => p.before.flatMap((b, i) => (b !== 0 || p.after[i] !== 0 ? [i] : []))));
  if (axes.size !== 1) return null;
  const [axis] = axes;
  const ordered = [...parts].sort((x, y) => x.before[axis] - y.before[axis]);
  // Part i covers [before, length - after); each must start where the one before it ends.
  const tiles = ordered.every((p, i) => p.before[axis] === (i === 0 ? 0 : shape[axis] - ordered[i - 1].after[axis])) && ordered[ordered.length - 1].after[axis] === 0;
  return tiles ? g.op('Concat', ordered.map((p) => p.input), [int('axis', axis)]) : null;
}

const reducedAxes = (k: Omit<KernelCall, 'outputs'>) => axesOf(k.attrs.axis ?? k.attrs.reductionIndices, arg(k, 'x').shape.length);

function reduce(op: 'ReduceSum' | 'ReduceMean' | 'ReduceMax'): TracedKernel {
  return {
    emit: (g, k) => {
      const x = arg(k, 'x');
      const rank = x.shape.length;
      const axes = reducedAxes(k).sort((a, b) => a - b);
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
      // Over every axis: one axis of a vector (onnxruntime 1.23 gave [n], not [1], reducing a [1, n]
      // matrix over its second axis, as a gradient norm's sums do). Over the trailing axes: one axis of a matrix, which runs
      // faster than several of a 4-D tensor.
      const whole = rank > 1 && axes.length === rank;
      const flat = !whole && rank > 2 && axes.length > 1 && trailing;
      const value = whole ? g.op('Reshape', [input(g, k, 'x'), g.int64s([-1])]) : flat ? g.op('Reshape', [input(g, k, 'x'), g.int64s([rows, -1])]) : input(g, k, 'x');
      const reduceAxes = whole ? [0] : flat ? [1] : axes;
      // ReduceSum takes its axes as an input from opset 13, the others from opset 18.
      const keep = int('keepdims', 0);
      const reduced = op === 'ReduceSum' ? g.op(op, [value, g.int64s(reduceAxes)], [keep]) : g.op(op, [value], [ints('axes', reduceAxes), keep]);
      return [g.op('Reshape', [reduced, out])];
    },
    shape: (k) => {
      const x = arg(k, 'x');
      const reduced = new Set(reducedAxes(k));
      return spec(
        x.shape.flatMap((d, i) => (!reduced.has(i) ? [d] : k.attrs.keepDims ? [1] : [])),
        x,
      );
    },
  };
}

/** ONNX Slice's end for "through the first element" with a negative step (its spec's INT_MIN). */
const INT64_MIN = -(2 ** 63);

const TYPE_CODES: Record<string, number> = { float32: 1, int32: 6, bool: 9 };

/** Products of at least this many values get their bias added by a node of its own (biasAfterMatMul). */
const SEPARATE_BIAS_SIZE = 2 ** 18;

/**
 * A bias vector added to a large MatMul's product, as an Add of its own with the bias shaped
 * [1, 1, N], a shape onnxruntime's MatMul-Add fusion leaves alone. Fused into a Gemm, the bias is
 * first written into every row of the output on one thread (GemmBroadcastBias) while the other
 * core waits; the Add runs on both. At Glow K8 h256 the step ran 4.4% faster, at K4 h128 3.6%
 * (docs/performance.md, "The bias apart from the product"). Null for any other sum.
 */
function biasAfterMatMul(g: GraphBuilder, k: KernelCall, a: string, b: string): string | null {
  const [x, bias] = [arg(k, 'a'), arg(k, 'b')];
  const n = x.shape[x.shape.length - 1];
  if (g.producerOf(a) !== 'MatMul' || bias.shape.length !== 1 || bias.shape[0] !== n || tf.util.sizeFromShape(x.shape) < SEPARATE_BIAS_SIZE) return null;
  const sum = g.op('Add', [a, g.op('Reshape', [b, g.int64s([1, 1, n])])]);
  // A product of rank 2 comes back to its own shape from the [1, M, N] the broadcast gives.
  return x.shape.length >= 3 ? sum : g.op('Reshape', [sum, g.int64s(x.shape)]);
}

const TRACED_KERNELS: Record<string, TracedKernel> = {
  Add: {
    emit: (g, k) => {
      const [a, b] = [input(g, k, 'a'), input(g, k, 'b')];
      return [concatOfPads(g, [a, b], [arg(k, 'a').shape, arg(k, 'b').shape]) ?? biasAfterMatMul(g, k, a, b) ?? g.op('Add', [a, b])];
    },
    shape: binary('Add').shape,
  },
  Sub: binary('Sub'),
  Multiply: binary('Mul'),
  RealDiv: binary('Div'),
  Neg: unary('Neg'),
  Exp: unary('Exp'),
  Sqrt: unary('Sqrt'),
  Abs: unary('Abs'),
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  // As exp(-softplus(-x)): onnxruntime's Sigmoid is an approximation with an absolute error, off
  // 1.4% at -13 and 47% at -16, where tfjs's is right to a few float32 steps; Softplus and Exp
  // keep the relative precision (the coupling's scale and softplus's gradient live in that tail).
  // Where softplus(x) is already in the graph (softplus's gradient is sigmoid of its input), as
  // exp(x - softplus(x)) instead: no second Softplus, and as precise in the negative tail, where
  // softplus(x) is tiny beside x; near 1 it is off by an ulp of x, in absolute terms.
  Sigmoid: {
    emit: (g, k) => {
      const x = input(g, k, 'x');
      const softplus = g.existing('Softplus', [x]);
      if (softplus) return [g.op('Exp', [g.op('Sub', [x, softplus])])];
      return [g.op('Exp', [g.op('Neg', [g.op('Softplus', [g.op('Neg', [x])])])])];
    },
    shape: likeX,
  },
  Softplus: unary('Softplus'),
  Log: unary('Log'),
  // The splines' bins and identity tails: comparisons, clamps and selections.
  GreaterEqual: compare('GreaterOrEqual'),
  LessEqual: compare('LessOrEqual'),
  LogicalAnd: compare('And'),
  LogicalNot: unary('Not'),
  ClipByValue: {
    emit: (g, k) => [g.op('Clip', [input(g, k, 'x'), g.scalar(k.attrs.clipValueMin as number), g.scalar(k.attrs.clipValueMax as number)])],
    shape: likeX,
  },
  // tfjs's where broadcasts its three inputs to one shape before the kernel sees them.
  Select: {
    emit: (g, k) => [g.op('Where', [input(g, k, 'condition'), input(g, k, 't'), input(g, k, 'e')])],
    shape: (k) => spec([...arg(k, 't').shape], arg(k, 't')),
  },
  Softmax: {
    emit: (g, k) => [g.op('Softmax', [input(g, k, 'logits')], [int('axis', k.attrs.dim as number)])],
    shape: (k) => spec([...arg(k, 'logits').shape], arg(k, 'logits')),
  },
  Relu: unary('Relu'),
  // Attention and velocity fields: LayerNorm's 1/sqrt (and its gradient's power), the exact GELU,
  // sinusoidal time embeddings, a block's reversed order, logsumexp's max and its gradient's ties.
  Rsqrt: {
    emit: (g, k) => [g.op('Reciprocal', [g.op('Sqrt', [input(g, k, 'x')])])],
    shape: likeX,
  },
  Pow: binary('Pow'),
  Erf: unary('Erf'),
  Tanh: unary('Tanh'),
  Sin: unary('Sin'),
  Cos: unary('Cos'),
  SquaredDifference: {
    emit: (g, k) => {
      const d = g.op('Sub', [input(g, k, 'a'), input(g, k, 'b')]);
      return [g.op('Mul', [d, d])];
    },
    shape: binary('Sub').shape,
  },
  Equal: compare('Equal'),
  // Pow's gradient in its exponent takes the log only where the base is positive.
  Greater: compare('Greater'),
  Max: reduce('ReduceMax'),
  // A Slice stepping backwards over the reversed axes.
  Reverse: {
    emit: (g, k) => {
      const axes = axesOf(k.attrs.dims, arg(k, 'x').shape.length);
      const each = (v: number) => g.int64s(axes.map(() => v));
      return [g.op('Slice', [input(g, k, 'x'), each(-1), each(INT64_MIN), g.int64s(axes), each(-1)])];
    },
    shape: likeX,
  },
  Tile: {
    emit: (g, k) => [g.op('Tile', [input(g, k, 'x'), g.int64s(k.attrs.reps as number[])])],
    shape: (k) => spec(arg(k, 'x').shape.map((d, i) => d * (k.attrs.reps as number[])[i]), arg(k, 'x')),
  },
  // The same value under a new tensor: no node (tfjs's customGrad and gradients make many).
  Identity: { emit: (g, k) => [input(g, k, 'x')], shape: likeX },
  Square: {
    emit: (g, k) => {
      const x = input(g, k, 'x');
      return [g.op('Mul', [x, x])];
    },
    shape: likeX,
  },
  // tfjs: 1 where x > 0, else alpha.
  Step: {
    emit: (g, k) => {
      const x = input(g, k, 'x');
      const alpha = (k.attrs.alpha as number) ?? 0;
      // A ReLU's gradient is the step of its input. Compared on the ReLU's output instead (the same
      // signs), that input keeps one reader, so onnxruntime fuses the product before it and the
      // ReLU into one FusedGemm.
      const compared = (alpha === 0 ? g.existing('Relu', [x]) : null) ?? x;
      const positive = g.op('Cast', [g.op('Greater', [compared, g.scalar(0)])], [int('to', 1)]);
      return [alpha === 0 ? positive : g.op('Add', [g.op('Mul', [positive, g.scalar(1 - alpha)]), g.scalar(alpha)])];
    },
    shape: likeX,
  },
  Cast: {
    emit: (g, k) => {
      // A cast to the type it already has is its input (tfjs's gradients cast their operands).
      if (arg(k, 'x').dtype === k.attrs.dtype) return [input(g, k, 'x')];
      const to = TYPE_CODES[k.attrs.dtype as string];
      if (to === undefined) throw new TraceError(`cast to ${String(k.attrs.dtype)} has no ONNX export`);
      return [g.op('Cast', [input(g, k, 'x')], [int('to', to)])];
    },
    shape: (k) => [{ shape: [...arg(k, 'x').shape], dtype: k.attrs.dtype as tf.DataType }],
  },
  AddN: {
    emit: (g, k) => [concatOfPads(g, listed(g, k), numbered(k).map((t) => t.shape)) ?? g.op('Sum', listed(g, k))],
    shape: (k) => spec([...numbered(k)[0].shape], numbered(k)[0]),
  },
  Sum: reduce('ReduceSum'),
  Mean: reduce('ReduceMean'),
  Reshape: {
    emit: (g, k) => {
      const same = arg(k, 'x').shape.join() === k.outputs[0].shape.join();
      return [same ? input(g, k, 'x') : g.op('Reshape', [input(g, k, 'x'), g.int64s(k.outputs[0].shape)])];
    },
    shape: (k) => spec(tf.util.inferFromImplicitShape([...(k.attrs.shape as number[])], tf.util.sizeFromShape(arg(k, 'x').shape)), arg(k, 'x')),
  },
  Transpose: {
    emit: (g, k) => [g.op('Transpose', [input(g, k, 'x')], [ints('perm', k.attrs.perm as number[])])],
    shape: (k) => spec((k.attrs.perm as number[]).map((p) => arg(k, 'x').shape[p]), arg(k, 'x')),
  },
  Slice: {
    emit: (g, k) => {
      const shape = arg(k, 'x').shape;
      const [begin, size] = sliceParams(k);
      const ends = begin.map((b, i) => b + size[i]);
      const x = input(g, k, 'x');
      const padding = g.padOf(x);
      const last = shape.length - 1;
      // A slice of a padded tensor is one Pad of the unpadded one, cropping with negative pads: one
      // copy instead of two. Not where the slice cuts the innermost axis, which onnxruntime's Pad
      // crops several times slower than Slice does.
      if (padding && begin[last] === 0 && ends[last] === shape[last]) {
        return [g.pad({ ...padding, before: padding.before.map((p, i) => p - begin[i]), after: padding.after.map((p, i) => p - (shape[i] - ends[i])) })];
      }
      return [g.op('Slice', [x, g.int64s(begin), g.int64s(ends), g.int64s(begin.map((_, i) => i))])];
    },
    shape: (k) => spec(sliceParams(k)[1], arg(k, 'x')),
  },
  Concat: {
    emit: (g, k) => {
      const rank = k.outputs[0].shape.length;
      return [g.op('Concat', listed(g, k), [int('axis', axesOf(k.attrs.axis, rank)[0])])];
    },
    shape: (k) => {
      const parts = numbered(k);
      const axis = axesOf(k.attrs.axis, parts[0].shape.length)[0];
      const shape = [...parts[0].shape];
      shape[axis] = parts.reduce((sum, p) => sum + p.shape[axis], 0);
      return spec(shape, parts[0]);
    },
  },
  Pack: {
    emit: (g, k) => {
      const axis = axesOf(k.attrs.axis, k.outputs[0].shape.length)[0];
      const axes = g.int64s([axis]);
      return [g.op('Concat', listed(g, k).map((t) => g.op('Unsqueeze', [t, axes])), [int('axis', axis)])];
    },
    shape: (k) => {
      const parts = numbered(k);
      const shape = [...parts[0].shape];
      shape.splice(axesOf(k.attrs.axis, shape.length + 1)[0], 0, parts.length);
      return spec(shape, parts[0]);
    },
  },
  Unpack: {
    emit: (g, k) => {
      const axis = axesOf(k.attrs.axis, arg(k, 'value').shape.length)[0];
      const axes = g.int64s([axis]);
      const parts = g.node('Split', [input(g, k, 'value'), g.int64s(k.outputs.map(() => 1))], [int('axis', axis)], k.outputs.length);
      return parts.map((p) => g.op('Squeeze', [p, axes]));
    },
    shape: (k) => {
      const value = arg(k, 'value');
      const axis = axesOf(k.attrs.axis, value.shape.length)[0];
      const part = value.shape.filter((_, i) => i !== axis);
      return Array.from({ length: value.shape[axis] }, () => spec(part, value)[0]);
    },
  },
  SplitV: {
    emit: (g, k) => {
      const axis = axesOf(k.attrs.axis, arg(k, 'x').shape.length)[0];
      const sizes = k.outputs.map((o) => o.shape[axis]);
      return g.node('Split', [input(g, k, 'x'), g.int64s(sizes)], [int('axis', axis)], sizes.length);
    },
    shape: (k) => {
      const x = arg(k, 'x');
      const axis = axesOf(k.attrs.axis, x.shape.length)[0];
      const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.TensorInfo, k.attrs.numOrSizeSplits as number | number[], axis);
      return sizes.map((size) => spec(x.shape.map((d, i) => (i === axis ? size : d)), x)[0]);
    },
  },
  PadV2: {
    emit: (g, k) => {
      const paddings = k.attrs.paddings as [number, number][];
      return [g.pad({ input: input(g, k, 'x'), before: paddings.map((p) => p[0]), after: paddings.map((p) => p[1]), value: (k.attrs.constantValue as number) ?? 0 })];
    },
    shape: (k) => spec(arg(k, 'x').shape.map((d, i) => d + (k.attrs.paddings as number[][])[i][0] + (k.attrs.paddings as number[][])[i][1]), arg(k, 'x')),
  },
  GatherV2: {
    emit: (g, k) => {
      if (((k.attrs.batchDims as number) ?? 0) !== 0) throw new TraceError('gathers with batch dimensions have no ONNX export');
      return [g.op('Gather', [input(g, k, 'x'), input(g, k, 'indices')], [int('axis', axesOf(k.attrs.axis, arg(k, 'x').shape.length)[0])])];
    },
    shape: (k) => {
      const x = arg(k, 'x');
      const axis = axesOf(k.attrs.axis, x.shape.length)[0];
      return spec([...x.shape.slice(0, axis), ...arg(k, 'indices').shape, ...x.shape.slice(axis + 1)], x);
    },
  },
  BatchMatMul: { emit: (g, k) => [matMul(g, k, null)], shape: matMulShape },
  _FusedMatMul: {
    emit: (g, k) => {
      if (k.inputs.preluActivationWeights) throw new TraceError('prelu activations have no ONNX export');
      const bias = k.inputs.bias ? input(g, k, 'bias') : null;
      return [activate(g, matMul(g, k, bias), k.attrs.activation)];
    },
    shape: matMulShape,
  },
};

/** The record of a kernel the trace can export, or null. */
export function tracedKernel(name: string): TracedKernel | null {
  return Object.hasOwn(TRACED_KERNELS, name) ? TRACED_KERNELS[name] : null;
}
