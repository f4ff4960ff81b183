// Output shapes of the kernels a trace records, so a kernel whose inputs derive from the graph's
// inputs need not run: those values can never be read back (the trace refuses it), so only
// their shapes matter, and skipping the wasm work makes tracing a large model seconds, not a
// minute. A kernel without a rule here simply runs.
import * as tf from '../tf.ts';
import type { TensorRef } from './graph-builder.ts';

export type OutputSpec = { shape: number[]; dtype: tf.DataType };

const UNARY = new Set(['Neg', 'Exp', 'Sigmoid', 'Softplus', 'Relu', 'Square', 'Step', 'Identity']);
const BINARY = new Set(['Add', 'Sub', 'Multiply', 'RealDiv']);
const REDUCTION = new Set(['Sum', 'Mean']);

/** A kernel's axis attribute as non-negative axes; absent means every axis. */
export function axesOf(attr: unknown, rank: number): number[] {
  const list = Array.isArray(attr) ? (attr as number[]) : attr === undefined || attr === null ? Array.from({ length: rank }, (_, i) => i) : [attr as number];
  return list.map((a) => (a < 0 ? a + rank : a));
}

/** The keys of a variadic kernel's inputs (Concat, AddN, Pack), in order. */
export function numberedKeys(inputs: Record<string, unknown>): string[] {
  return Object.keys(inputs)
    .filter((k) => /^\d+$/.test(k))
    .sort((a, b) => Number(a) - Number(b));
}

function numbered(inputs: Record<string, TensorRef | undefined>): TensorRef[] {
  return numberedKeys(inputs).map((k) => inputs[k]!);
}

function matMulShape(a: TensorRef, b: TensorRef, attrs: Record<string, unknown>): number[] {
  const m = attrs.transposeA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
  const n = attrs.transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  const batch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return [...batch, m, n];
}

/** The outputs of `kernel` on inputs of these shapes, or null where no rule is known. */
export function outputSpecs(kernel: string, inputs: Record<string, TensorRef | undefined>, attrs: Record<string, unknown>): OutputSpec[] | null {
  const x = inputs.x;
  if (UNARY.has(kernel) && x) return [{ shape: [...x.shape], dtype: x.dtype as tf.DataType }];
  if (BINARY.has(kernel) && inputs.a && inputs.b) {
    return [{ shape: tf.broadcast_util.assertAndGetBroadcastShape(inputs.a.shape, inputs.b.shape), dtype: inputs.a.dtype as tf.DataType }];
  }
  if (REDUCTION.has(kernel) && x) {
    const reduced = new Set(axesOf(attrs.axis ?? attrs.reductionIndices, x.shape.length));
    const shape = x.shape.flatMap((d, i) => (!reduced.has(i) ? [d] : attrs.keepDims ? [1] : []));
    return [{ shape, dtype: x.dtype as tf.DataType }];
  }
  switch (kernel) {
    case 'Cast':
      return [{ shape: [...x!.shape], dtype: attrs.dtype as tf.DataType }];
    case 'Transpose':
      return [{ shape: (attrs.perm as number[]).map((p) => x!.shape[p]), dtype: x!.dtype as tf.DataType }];
    case 'Slice':
      return [{ shape: (attrs.size as number[]).map((s, i) => (s === -1 ? x!.shape[i] - (attrs.begin as number[])[i] : s)), dtype: x!.dtype as tf.DataType }];
    case 'PadV2':
      return [{ shape: x!.shape.map((d, i) => d + (attrs.paddings as number[][])[i][0] + (attrs.paddings as number[][])[i][1]), dtype: x!.dtype as tf.DataType }];
    case 'Concat': {
      const parts = numbered(inputs);
      const axis = axesOf(attrs.axis, parts[0].shape.length)[0];
      const shape = [...parts[0].shape];
      shape[axis] = parts.reduce((sum, p) => sum + p.shape[axis], 0);
      return [{ shape, dtype: parts[0].dtype as tf.DataType }];
    }
    case 'AddN': {
      const parts = numbered(inputs);
      return [{ shape: [...parts[0].shape], dtype: parts[0].dtype as tf.DataType }];
    }
    case 'BatchMatMul':
    case '_FusedMatMul':
      return [{ shape: matMulShape(inputs.a!, inputs.b!, attrs), dtype: 'float32' }];
    default:
      return null;
  }
}
