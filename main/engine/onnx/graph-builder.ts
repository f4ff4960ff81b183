// Collects the ONNX graph that a traced tfjs computation ran: values by name, constants read
// once from their tensors, nodes in execution order, then pruned to what the outputs need.
import type { OnnxDataType, OnnxGraph, OnnxNode, OnnxAttribute, OnnxTensor, OnnxValueInfo } from './onnx-proto.ts';

/** What a kernel sees of a tensor: tfjs's TensorInfo without the data. */
export interface TensorRef {
  dataId: object;
  shape: number[];
  dtype: string;
}

/** A tensor the traced code cannot turn into an ONNX value. */
export class TraceError extends Error {}

export function onnxType(dtype: string): OnnxDataType {
  if (dtype === 'float32' || dtype === 'int32' || dtype === 'bool') return dtype;
  throw new TraceError(`tensors of type ${dtype} have no ONNX export`);
}

function shapeKey(shape: readonly number[]): string {
  return shape.join('x');
}

/** What a Pad node did: its input, the pads before and after each axis, the constant it fills with. */
export interface PadRecord {
  input: string;
  before: number[];
  after: number[];
  value: number;
}

export class GraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  /** Outputs of the attribute-free one-output nodes, by op and inputs (see `existing`). */
  private readonly plain = new Map<string, string>();
  /** The op of the node that made each computed value, by value name. */
  private readonly producers = new Map<string, string>();
  /** Pad nodes by output name, so a later slice of one can read the unpadded input. */
  private readonly pads = new Map<string, PadRecord>();
  private readonly initializers: OnnxTensor[] = [];
  private readonly inputs: OnnxValueInfo[] = [];
  /** Names of computed values and inputs by dataId, then shape (a reshape shares its input's data). */
  private readonly named = new WeakMap<object, Map<string, string>>();
  /** Constants already written, by dataId and shape. */
  private readonly constants = new WeakMap<object, Map<string, string>>();
  private counter = 0;

  constructor(private readonly read: (ref: TensorRef) => ArrayLike<number>) {}

  /** The ONNX value a tensor is, or null when it is a constant (depends on no graph input). */
  nameOf(ref: TensorRef): string | null {
    return this.named.get(ref.dataId)?.get(shapeKey(ref.shape)) ?? null;
  }

  /** Whether a tensor's data is (or is shaped from) a graph input or a computed value. */
  isComputed(dataId: object): boolean {
    return this.named.has(dataId);
  }

  /** Declares `ref` as the graph input `name`. */
  input(name: string, ref: TensorRef): void {
    this.inputs.push({ name, dtype: onnxType(ref.dtype), dims: [...ref.shape] });
    this.bind(ref, name);
  }

  /** `ref` is now the value `name`. */
  bind(ref: TensorRef, name: string): void {
    let byShape = this.named.get(ref.dataId);
    if (!byShape) this.named.set(ref.dataId, (byShape = new Map()));
    byShape.set(shapeKey(ref.shape), name);
  }

  /** The value of `ref`: its name when computed, else an initializer holding its current contents. */
  value(ref: TensorRef): string {
    const name = this.nameOf(ref);
    if (name) return name;
    const key = shapeKey(ref.shape);
    const known = this.constants.get(ref.dataId)?.get(key);
    if (known) return known;
    const values = this.read(ref);
    const dtype = onnxType(ref.dtype);
    const data = dtype === 'float32' ? Float32Array.from(values) : dtype === 'int32' ? Int32Array.from(values) : Uint8Array.from(values);
    const constName = this.fresh('const');
    this.initializers.push({ name: constName, dtype, dims: [...ref.shape], data });
    let byShape = this.constants.get(ref.dataId);
    if (!byShape) this.constants.set(ref.dataId, (byShape = new Map()));
    byShape.set(key, constName);
    return constName;
  }

  /** An int64 initializer (shapes, axes, pads), as many ONNX ops take them as inputs. */
  int64s(values: readonly number[]): string {
    const name = this.fresh('i64');
    this.initializers.push({ name, dtype: 'int64', dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
    return name;
  }

  /** A float32 initializer of ones. */
  ones(dims: number[]): string {
    const name = this.fresh('ones');
    this.initializers.push({ name, dtype: 'float32', dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(1) });
    return name;
  }

  /** A float32 scalar initializer. */
  scalar(value: number): string {
    const name = this.fresh('f32');
    this.initializers.push({ name, dtype: 'float32', dims: [], data: Float32Array.of(value) });
    return name;
  }

  /** A Pad node (negative pads crop), remembered so a slice of its output can become one Pad. */
  pad(p: PadRecord): string {
    const name = this.op('Pad', [p.input, this.int64s([...p.before, ...p.after]), this.scalar(p.value)]);
    this.pads.set(name, p);
    return name;
  }

  /** How `name` was padded, when a Pad node made it. */
  padOf(name: string): PadRecord | null {
    return this.pads.get(name) ?? null;
  }

  /** Appends a node with fresh output names and returns them. */
  node(op: string, inputs: string[], attributes: OnnxAttribute[] = [], outputs = 1): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(op.toLowerCase()));
    this.nodes.push({ op, inputs, outputs: names, attributes });
    for (const name of names) this.producers.set(name, op);
    if (outputs === 1 && attributes.length === 0) this.plain.set(`${op}(${inputs.join()})`, names[0]);
    return names;
  }

  /** The op of the node that made `name`, or null for an input or a constant. */
  producerOf(name: string): string | null {
    return this.producers.get(name) ?? null;
  }

  /** The output of an attribute-free `op` node already made from exactly `inputs`, if any. */
  existing(op: string, inputs: string[]): string | null {
    return this.plain.get(`${op}(${inputs.join()})`) ?? null;
  }

  /** One-output node shorthand. */
  op(op: string, inputs: string[], attributes: OnnxAttribute[] = []): string {
    return this.node(op, inputs, attributes)[0];
  }

  /**
   * The graph computing `outputs` (value name by output name) from the declared inputs, with
   * every node and constant the outputs do not need left out.
   */
  build(name: string, outputs: { name: string; value: string; ref: TensorRef }[]): OnnxGraph {
    const needed = new Set(outputs.map((o) => o.value));
    const kept: OnnxNode[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (!n.outputs.some((o) => needed.has(o))) continue;
      kept.push(n);
      for (const input of n.inputs) needed.add(input);
    }
    kept.reverse();
    // A node's value that is one output alone is renamed to it; an output that is an input, a
    // constant or another output's value too needs its own name: an Identity, which copies (the
    // step's flat weights and moments are megabytes).
    const produced = new Set(kept.flatMap((n) => n.outputs));
    const uses = new Map<string, number>();
    for (const o of outputs) uses.set(o.value, (uses.get(o.value) ?? 0) + 1);
    const renamed = new Map(outputs.filter((o) => produced.has(o.value) && uses.get(o.value) === 1).map((o) => [o.value, o.name]));
    const rename = (value: string) => renamed.get(value) ?? value;
    const nodes = kept.map((n) => ({ ...n, inputs: n.inputs.map(rename), outputs: n.outputs.map(rename) }));
    const outputInfos: OnnxValueInfo[] = outputs.map((o) => {
      if (!renamed.has(o.value)) nodes.push({ op: 'Identity', inputs: [o.value], outputs: [o.name] });
      return { name: o.name, dtype: onnxType(o.ref.dtype), dims: [...o.ref.shape] };
    });
    return {
      name,
      nodes,
      inputs: this.inputs.filter((i) => needed.has(i.name)),
      outputs: outputInfos,
      initializers: this.initializers.filter((t) => needed.has(t.name)),
    };
  }

  private fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }
}
