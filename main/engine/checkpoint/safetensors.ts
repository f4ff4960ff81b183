// The safetensors container (8-byte little-endian header length, JSON header, raw little-endian
// data), written and read strictly: a truncated, lying or hostile file is refused with a
// CheckpointError naming the file, never a crash, a RangeError or an out-of-bounds read.
import { CheckpointError, jsonErrorPosition } from '../errors.ts';

export type DType = 'float32' | 'float64' | 'int32' | 'uint8';
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** A named tensor's plain form: row-major data of the given shape. */
export interface NamedArray {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

interface Format {
  code: string;
  bytes: number;
  ctor: Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor;
}

const FORMATS = new Map<DType, Format>([
  ['float32', { code: 'F32', bytes: 4, ctor: Float32Array }],
  ['float64', { code: 'F64', bytes: 8, ctor: Float64Array }],
  ['int32', { code: 'I32', bytes: 4, ctor: Int32Array }],
  ['uint8', { code: 'U8', bytes: 1, ctor: Uint8Array }],
]);
// A Map, not an object literal: a header dtype such as "constructor" must not find a prototype key.
const BY_CODE = new Map([...FORMATS].map(([dtype, f]) => [f.code, dtype]));
const SUPPORTED = [...BY_CODE.keys()].join(', ');

/** Headers larger than this are refused before decoding (a lying length field). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** Tensors of higher rank are refused; FlowDesk's largest are 4-D conv filters. */
const MAX_RANK = 8;
const NAME_PATTERN = /^[A-Za-z0-9_.\-/]{1,200}$/;
/** `__metadata__` is the format's own key; `__proto__` would replace a plain object's prototype. */
const RESERVED = new Set(['__metadata__', '__proto__']);
// Typed arrays use the machine's byte order and the format is little-endian; every platform
// Electron ships for is little-endian, so a big-endian host is refused rather than misread.
const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Whether `name` may name a tensor: conservative characters, no empty, `.` or `..` segments. */
export function isValidTensorName(name: string): boolean {
  return NAME_PATTERN.test(name) && !RESERVED.has(name) && !name.split('/').some((part) => part === '..' || part === '.' || part === '');
}

function requireLittleEndian(): void {
  if (!LITTLE_ENDIAN_HOST) throw new CheckpointError('INTERNAL', 'safetensors files need a little-endian machine; this one is big-endian.');
}

/** A short printable form of an untrusted value for an error message. */
function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function encodeSafetensors(tensors: Record<string, NamedArray>, metadata: Record<string, string> = {}): Uint8Array {
  requireLittleEndian();
  const refuse = (why: string): never => {
    throw new CheckpointError('BAD_ARGUMENT', `Cannot write a safetensors file: ${why}`);
  };
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') refuse(`metadata ${show(key)} must be a string, got ${typeof value}.`);
    if (key === '__proto__') refuse('metadata key "__proto__" is not allowed.');
  }
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const names = Object.keys(tensors).sort();
  let offset = 0;
  for (const name of names) {
    if (!isValidTensorName(name)) refuse(`tensor name ${show(name)} is not allowed (letters, digits, _ . - /, no empty, . or .. segments).`);
    const t = tensors[name];
    const format = FORMATS.get(t.dtype) ?? refuse(`tensor ${name} has unsupported dtype ${show(t.dtype)}.`);
    if (!Array.isArray(t.shape) || t.shape.length > MAX_RANK || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      refuse(`tensor ${name} has an invalid shape ${show(t.shape)}.`);
    }
    if (!(t.data instanceof format.ctor)) refuse(`tensor ${name} is ${t.dtype} but its data is a ${t.data?.constructor?.name}.`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) refuse(`tensor ${name}: shape [${t.shape}] needs ${count} values, got ${t.data.length}.`);
    header[name] = { dtype: format.code, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Spaces after the JSON make the data start 8-byte aligned, as the format recommends.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  if (headerBytes.length > MAX_HEADER_BYTES) refuse(`the header would be ${headerBytes.length} bytes, over the ${MAX_HEADER_BYTES}-byte limit readers enforce.`);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const { data } = tensors[name];
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    at += data.byteLength;
  }
  return out;
}

/**
 * The first key that occurs twice in one object of `json` (already known to be valid JSON), or
 * null. JSON.parse keeps the last of duplicates silently; a header saying two things is refused.
 */
function firstDuplicateKey(json: string): string | null {
  const objects: (Set<string> | null)[] = []; // a Set of keys per open object, null per open array
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      const keys = objects[objects.length - 1];
      if (expectKey && keys) {
        const key = JSON.parse(json.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (c === '{') {
      objects.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      objects.push(null);
    } else if (c === '}' || c === ']') {
      objects.pop();
    } else if (c === ',') {
      expectKey = objects[objects.length - 1] !== null;
    } else if (c === ':') {
      expectKey = false;
    }
  }
  return null;
}

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): { tensors: Record<string, NamedArray>; metadata: Record<string, string> } {
  requireLittleEndian();
  const fail = (why: string): never => {
    throw new CheckpointError('BAD_CHECKPOINT', `${source}: ${why}`);
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for a safetensors header (truncated?).`);
  const declared = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES)) fail(`header length is absurd (over ${MAX_HEADER_BYTES} bytes); this is not a safetensors file.`);
  const n = Number(declared);
  if (8 + n > bytes.length) fail(`header length runs past the end of the ${bytes.length}-byte file (truncated?).`);
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail('header is not valid UTF-8.');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    fail(`header is not valid JSON${jsonErrorPosition(err)}.`);
  }
  if (!isPlainObject(header)) fail('header is not a JSON object.');
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== null) fail(`key ${show(duplicate)} appears twice in one object of the header.`);

  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!isPlainObject(raw)) fail('__metadata__ must be an object of strings.');
      for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
        if (key === '__proto__') fail('__metadata__ has the forbidden key "__proto__".');
        if (typeof value !== 'string') fail(`__metadata__.${show(key)} must be a string, got ${show(value)}.`);
        metadata[key] = value as string;
      }
      continue;
    }
    if (!isValidTensorName(name)) fail(`tensor name ${show(name)} is not allowed (letters, digits, _ . - /, no empty, . or .. segments).`);
    if (!isPlainObject(raw)) fail(`entry ${name} is not an object.`);
    const { dtype: code, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    const dtype = (typeof code === 'string' && BY_CODE.get(code)) || fail(`tensor ${name} has unsupported dtype ${show(code)} (FlowDesk reads ${SUPPORTED}).`);
    const { bytes: width } = FORMATS.get(dtype)!;
    if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor ${name} has an invalid shape ${show(shape)} (up to ${MAX_RANK} non-negative integers).`);
    }
    let count = (shape as number[]).includes(0) ? 0 : 1;
    for (const d of count === 0 ? [] : (shape as number[])) {
      count *= d;
      // Stop before the product leaves exact integers: no file holds that many values.
      if (count * width > dataLength) fail(`tensor ${name}: shape ${show(shape)} of ${dtype} needs more than the file's ${dataLength} data bytes.`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor ${name} has invalid data_offsets ${show(offsets)} (two non-negative integers).`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin || end > dataLength) fail(`tensor ${name}: data_offsets [${begin}, ${end}] fall outside the ${dataLength} data bytes (truncated?).`);
    if (end - begin !== count * width) {
      fail(`tensor ${name}: shape [${shape}] of ${dtype} needs ${count * width} bytes but its data_offsets span ${end - begin}.`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  const spans = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const { name, begin, end } of spans) {
    if (begin !== cursor) fail(`tensor ${name} starts at data byte ${begin}, expected ${cursor}: overlapping or non-contiguous data.`);
    cursor = end;
  }
  if (cursor !== dataLength) fail(`${dataLength - cursor} bytes after the last tensor are not described by the header (or the file has trailing junk).`);

  const tensors: Record<string, NamedArray> = {};
  for (const { name, dtype, shape, begin, end } of entries) {
    // A fresh array per tensor: its own aligned buffer, never a view into the file's bytes.
    const { ctor, bytes: width } = FORMATS.get(dtype)!;
    const data = new ctor((end - begin) / width);
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart + begin, dataStart + end));
    tensors[name] = { dtype, shape, data };
  }
  return { tensors, metadata };
}
