// A dependency-free ONNX ModelProto encoder: the protobuf wire format written by hand for the few
// messages an exported flow needs, with tensor bytes copied once, straight from their typed arrays.

/** The ONNX tensor element types FlowDesk exports. */
export type OnnxDataType = 'float32' | 'int32' | 'int64' | 'bool' | 'uint8';

/** A constant tensor (an initializer, or the value of a Constant node's attribute). */
export interface OnnxTensor {
  name: string;
  dtype: OnnxDataType;
  dims: number[];
  /** float32 -> Float32Array, int32 -> Int32Array, int64 -> BigInt64Array, bool -> Uint8Array (0/1), uint8 -> Uint8Array. */
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
}

/** A node attribute; `int` and `ints` values are int64 in the model, so negatives are allowed. */
export type OnnxAttribute =
  | { name: string; type: 'int'; value: number }
  | { name: string; type: 'ints'; value: number[] }
  | { name: string; type: 'float'; value: number }
  | { name: string; type: 'floats'; value: number[] }
  | { name: string; type: 'string'; value: string }
  | { name: string; type: 'tensor'; value: OnnxTensor };

/** One operator of the default domain; `inputs` holds '' for an omitted optional input. */
export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attributes?: OnnxAttribute[];
}

/** A graph input or output; a string dim is symbolic (dim_param), a number is fixed (dim_value). */
export interface OnnxValueInfo {
  name: string;
  dtype: OnnxDataType;
  dims: (number | string)[];
}

/** A whole graph: nodes in topological order, its inputs and outputs, and its constant weights. */
export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: OnnxTensor[];
}

/** Constructors for node attributes, so a graph reads `attr.ints('pads', [1, 1, 1, 1])`. */
export const attr = {
  int: (name: string, value: number): OnnxAttribute => ({ name, type: 'int', value }),
  ints: (name: string, value: number[]): OnnxAttribute => ({ name, type: 'ints', value }),
  float: (name: string, value: number): OnnxAttribute => ({ name, type: 'float', value }),
  floats: (name: string, value: number[]): OnnxAttribute => ({ name, type: 'floats', value }),
  string: (name: string, value: string): OnnxAttribute => ({ name, type: 'string', value }),
  tensor: (name: string, value: OnnxTensor): OnnxAttribute => ({ name, type: 'tensor', value }),
};

/** TensorProto.DataType codes, with the typed array each dtype's data must be. */
const DATA_TYPES = {
  float32: { code: 1, array: Float32Array },
  int32: { code: 6, array: Int32Array },
  int64: { code: 7, array: BigInt64Array },
  bool: { code: 9, array: Uint8Array },
  uint8: { code: 2, array: Uint8Array },
} as const;
const ATTRIBUTE_TYPES = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;
const VARINT = 0;
const LEN = 2;
const FIXED32 = 5;

const utf8 = new TextEncoder();
const scratch = new DataView(new ArrayBuffer(4));
/** Byte strings up to this long are copied into their message; longer ones are kept by reference. */
const INLINE_BYTES = 1024;

/**
 * One message being built: fields and small sub-messages are written into a growable buffer, and
 * tensor data (with any sub-message holding some) joins `parts` by reference, so a 20 MB
 * initializer is copied once, by `bytes()`.
 */
class Message {
  private readonly parts: Uint8Array[] = [];
  private buf = new Uint8Array(64);
  private pos = 0;
  private size = 0;

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(2 * this.buf.length, this.pos + n));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }

  private append(data: Uint8Array): void {
    this.reserve(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
    this.size += data.length;
  }

  /** Ends the pending bytes as a part; later writes go on in the buffer's spare room. */
  private flush(): void {
    this.parts.push(this.buf.subarray(0, this.pos));
    this.buf = this.buf.subarray(this.pos);
    this.pos = 0;
  }

  /** A length-delimited field: small contents are copied in, larger ones kept by reference. */
  private delimited(field: number, chunks: Uint8Array[], size: number): this {
    this.varint((field << 3) | LEN);
    this.varint(size);
    if (size <= INLINE_BYTES) {
      chunks.forEach((c) => this.append(c));
      return this;
    }
    this.flush();
    // Not push(...chunks): a graph can have more parts than a call may take arguments.
    for (const c of chunks) this.parts.push(c);
    this.size += size;
    return this;
  }

  /** LEB128 of the 64-bit two's complement, so -1 takes the 10 bytes protobuf expects. */
  private varint(v: number | bigint): void {
    this.reserve(10);
    const start = this.pos;
    if (typeof v === 'number' && v >= 0 && v <= 0x7fffffff && Number.isInteger(v)) {
      // Tags, lengths and most dims skip BigInt, the slow part of encoding thousands of nodes.
      for (; v >= 0x80; v >>>= 7) this.buf[this.pos++] = (v & 0x7f) | 0x80;
      this.buf[this.pos++] = v;
    } else {
      let x = BigInt.asUintN(64, BigInt(v));
      for (; x >= 0x80n; x >>= 7n) this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      this.buf[this.pos++] = Number(x);
    }
    this.size += this.pos - start;
  }

  int(field: number, v: number | bigint): this {
    this.varint((field << 3) | VARINT);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.varint((field << 3) | FIXED32);
    scratch.setFloat32(0, v, true);
    this.append(new Uint8Array(scratch.buffer));
    return this;
  }

  raw(field: number, data: Uint8Array): this {
    return this.delimited(field, [data], data.length);
  }

  string(field: number, s: string): this {
    return this.raw(field, utf8.encode(s));
  }

  message(field: number, m: Message): this {
    m.flush();
    return this.delimited(field, m.parts, m.size);
  }

  bytes(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

// raw_data is little-endian and typed arrays use the host's order; every platform Electron ships
// for is little-endian, so the bytes are taken as they lie in memory.
function tensor(t: OnnxTensor): Message {
  const { code, array } = DATA_TYPES[t.dtype];
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (!(t.data instanceof array) || t.data.length !== count) {
    throw new Error(`tensor ${t.name}: ${t.dtype} [${t.dims.join(', ')}] needs a ${array.name} of ${count}, got a ${t.data.constructor.name} of ${t.data.length}`);
  }
  const m = new Message();
  t.dims.forEach((d) => m.int(1, d));
  return m.int(2, code).string(8, t.name).raw(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

// Repeated numbers are written unpacked, as the proto2 onnx.proto declares them; parsers take both.
function attribute(a: OnnxAttribute): Message {
  const m = new Message().string(1, a.name).int(20, ATTRIBUTE_TYPES[a.type]);
  if (a.type === 'int') m.int(3, a.value);
  else if (a.type === 'ints') a.value.forEach((v) => m.int(8, v));
  else if (a.type === 'float') m.float(2, a.value);
  else if (a.type === 'floats') a.value.forEach((v) => m.float(7, v));
  else if (a.type === 'string') m.string(4, a.value);
  else m.message(5, tensor(a.value));
  return m;
}

function node(n: OnnxNode): Message {
  const m = new Message();
  n.inputs.forEach((s) => m.string(1, s));
  n.outputs.forEach((s) => m.string(2, s));
  if (n.name) m.string(3, n.name);
  m.string(4, n.op);
  (n.attributes ?? []).forEach((a) => m.message(5, attribute(a)));
  return m;
}

function valueInfo(v: OnnxValueInfo): Message {
  const shape = new Message();
  v.dims.forEach((d) => shape.message(1, typeof d === 'number' ? new Message().int(1, d) : new Message().string(2, d)));
  const tensorType = new Message().int(1, DATA_TYPES[v.dtype].code).message(2, shape);
  return new Message().string(1, v.name).message(2, new Message().message(1, tensorType));
}

/** The ModelProto bytes (ir_version 8, default domain at `opset`, default 17) that onnxruntime's InferenceSession.create accepts. */
export function encodeModel(graph: OnnxGraph, opset = 17): Uint8Array {
  const g = new Message();
  graph.nodes.forEach((n) => g.message(1, node(n)));
  g.string(2, graph.name);
  graph.initializers.forEach((t) => g.message(5, tensor(t)));
  graph.inputs.forEach((v) => g.message(11, valueInfo(v)));
  graph.outputs.forEach((v) => g.message(12, valueInfo(v)));
  const opsetId = new Message().int(2, opset); // the default domain is the empty string
  return new Message().int(1, 8).string(2, 'flowdesk').message(7, g).message(8, opsetId).bytes();
}
