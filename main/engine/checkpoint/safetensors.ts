// The safetensors container (8-byte little-endian header length, JSON header, raw little-endian
// data), written and read strictly: a truncated, lying or hostile file is refused with a
// CheckpointError naming the file, never a crash or an out-of-bounds read.
import { CheckpointError } from '../errors.ts';

export type DType = 'float32' | 'float64' | 'int32' | 'uint8';
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** A named tensor's plain form: row-major data of the given shape. */
export interface NamedArray {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

const CODES: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32', uint8: 'U8' };
const BY_CODE: Record<string, DType> = { F32: 'float32', F64: 'float64', I32: 'int32', U8: 'uint8' };
const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4, uint8: 1 };
const CTORS = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array };

/** Headers larger than this are refused before parsing (a lying length field). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const NAME_PATTERN = /^[A-Za-z0-9_.\-/]{1,200}$/;

function validName(name: string): boolean {
  return NAME_PATTERN.test(name) && !name.split('/').some((part) => part === '..' || part === '.' || part === '');
}

export function encodeSafetensors(tensors: Record<string, NamedArray>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors).sort();
  for (const name of names) {
    if (!validName(name)) throw new CheckpointError('BAD_CHECKPOINT', `tensor name ${JSON.stringify(name)} is not allowed in a safetensors file.`);
    const t = tensors[name];
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new CheckpointError('BAD_CHECKPOINT', `tensor ${name}: shape [${t.shape}] needs ${count} values, got ${t.data.length}.`);
    }
    const bytes = count * BYTES[t.dtype];
    header[name] = { dtype: CODES[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned, as the format recommends.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors[name];
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): { tensors: Record<string, NamedArray>; metadata: Record<string, string> } {
  const fail = (why: string): never => {
    throw new CheckpointError('BAD_CHECKPOINT', `${source}: ${why}`);
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for a safetensors header (truncated?).`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLength} is larger than ${MAX_HEADER_BYTES} bytes.`);
  const n = Number(headerLength);
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the ${bytes.length}-byte file (truncated?).`);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, n).toString('utf8'));
  } catch (err) {
    fail(`header is not valid JSON (${(err as Error).message}).`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object.');
  const entries = header as Record<string, unknown>;
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: Record<string, NamedArray> = {};
  const spans: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(entries)) {
    if (name === '__metadata__') {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) fail('__metadata__ must be an object of strings.');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} must be a string.`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (!validName(name)) fail(`tensor name ${JSON.stringify(name.slice(0, 80))} is not allowed.`);
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object') fail(`entry ${name} is not an object.`);
    const dtype = typeof e.dtype === 'string' ? BY_CODE[e.dtype] : undefined;
    if (!dtype) fail(`tensor ${name} has unsupported dtype ${JSON.stringify(e.dtype)} (supported: F32, F64, I32, U8).`);
    const shape = e.shape;
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0 && d <= 2 ** 31)) {
      fail(`tensor ${name} has an invalid shape ${JSON.stringify(shape)}.`);
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor ${name} has invalid data_offsets ${JSON.stringify(offsets)}.`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin || end > dataLength) fail(`tensor ${name}: data_offsets [${begin}, ${end}] fall outside the ${dataLength} data bytes (truncated?).`);
    if (end - begin !== count * BYTES[dtype!]) {
      fail(`tensor ${name}: shape [${shape}] of ${dtype} needs ${count * BYTES[dtype!]} bytes but its offsets span ${end - begin}.`);
    }
    spans.push([begin, end, name]);
    const copy = bytes.slice(dataStart + begin, dataStart + end);
    tensors[name] = { dtype: dtype!, shape: shape as number[], data: new CTORS[dtype!](copy.buffer, 0, count) };
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cursor = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== cursor) fail(`tensor ${name} starts at byte ${begin}, expected ${cursor}: overlapping or gapped data.`);
    cursor = end;
  }
  if (cursor !== dataLength) fail(`${dataLength - cursor} bytes after the last tensor are not described by the header.`);
  return { tensors, metadata };
}
