// What a traced kernel's ONNX export sees of one tfjs kernel call (its inputs, attributes and
// outputs) and the small vocabulary every kernel record reads it with: axes, numbered inputs,
// ONNX attributes.
import type * as tf from '../tf.ts';
import type { OnnxAttribute } from './onnx-proto.ts';
import { TraceError, type GraphBuilder, type TensorRef } from './graph-builder.ts';

export interface KernelCall {
  inputs: Record<string, TensorRef | undefined>;
  attrs: Record<string, unknown>;
  outputs: TensorRef[];
}

export type OutputSpec = { shape: number[]; dtype: tf.DataType };

/** How one tfjs kernel becomes ONNX nodes, and (where known) the shapes it gives. */
export interface TracedKernel {
  /** Emits the nodes of one call and returns the names of its outputs, in order. */
  emit(g: GraphBuilder, k: KernelCall): string[];
  /**
   * Its outputs' shapes and dtypes from its inputs', so a call whose values are never read need
   * not run while tracing. Without it the kernel simply runs.
   */
  shape?(k: Omit<KernelCall, 'outputs'>): OutputSpec[];
}

/** A kernel's axis attribute as non-negative axes; absent means every axis. */
export function axesOf(attr: unknown, rank: number): number[] {
  const list = Array.isArray(attr) ? (attr as number[]) : attr === undefined || attr === null ? Array.from({ length: rank }, (_, i) => i) : [attr as number];
  return list.map((a) => (a < 0 ? a + rank : a));
}

/** The tensor behind a kernel input, which every kernel call has. */
export function arg(k: Omit<KernelCall, 'outputs'>, key: string): TensorRef {
  const ref = k.inputs[key];
  if (!ref) throw new TraceError(`kernel input ${key} is missing`);
  return ref;
}

/** The numbered inputs of a variadic kernel (Concat, AddN, Pack), in order. */
export function numbered(k: Omit<KernelCall, 'outputs'>): TensorRef[] {
  return Object.keys(k.inputs)
    .filter((key) => /^\d+$/.test(key))
    .sort((a, b) => Number(a) - Number(b))
    .map((key) => arg(k, key));
}

/** The ONNX value name of a kernel input. */
export function input(g: GraphBuilder, k: KernelCall, key: string): string {
  return g.value(arg(k, key));
}

/** The ONNX value names of a variadic kernel's inputs, in order. */
export function listed(g: GraphBuilder, k: KernelCall): string[] {
  return numbered(k).map((ref) => g.value(ref));
}

export const ints = (name: string, value: number[]): OnnxAttribute => ({ name, type: 'ints', value });
export const int = (name: string, value: number): OnnxAttribute => ({ name, type: 'int', value });
