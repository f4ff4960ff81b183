// The safetensors reader and writer: round trips (fixed and property-based), every kind of
// hostile file refused with BAD_CHECKPOINT naming it, and a fuzzer that damages valid files.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type NamedArray } from '../../main/engine/checkpoint/safetensors.ts';
import { CheckpointError } from '../../main/engine/errors.ts';

const sample: Record<string, NamedArray> = {
  'levels.0.weight': { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
  'levels.0/perm': { dtype: 'int32', shape: [3], data: Int32Array.from([2, 0, -1]) },
  scalar: { dtype: 'float64', shape: [], data: Float64Array.from([Math.PI]) },
  mask: { dtype: 'uint8', shape: [1, 3], data: Uint8Array.from([0, 255, 7]) },
  empty: { dtype: 'float32', shape: [0, 4], data: new Float32Array(0) },
};

const CODES = { float32: 'F32', float64: 'F64', int32: 'I32', uint8: 'U8' } as const;

/** A file with the given header (an object, or raw text or bytes for malformed JSON) and data bytes. */
function file(header: object | string | Buffer, data: number | Uint8Array = 0, declaredLength?: bigint): Uint8Array {
  const json = Buffer.isBuffer(header) ? header : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

function bytesOf(a: NamedArray['data']): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function decodeError(bytes: Uint8Array): CheckpointError {
  try {
    decodeSafetensors(bytes, 'x.safetensors');
  } catch (err) {
    return err as CheckpointError;
  }
  throw new Error('the file was accepted');
}

const t = (dtype: string, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });
const f32 = (offsets: [number, number]) => t('F32', [(offsets[1] - offsets[0]) / 4], offsets);

const hostile: [string, Uint8Array, RegExp][] = [
  ['an empty file', new Uint8Array(0), /0 bytes, too short/],
  ['a 7-byte file', new Uint8Array(7), /too short/],
  ['an absurd header length', file({}, 0, 2n ** 40n), /absurd/],
  ['the largest u64 header length', file({}, 0, 2n ** 64n - 1n), /absurd/],
  ['a header length past the end', file({}, 0, 1000n), /runs past the end/],
  ['a header length just over 100 MB', file({}, 0, 100n * 1024n * 1024n + 1n), /absurd/],
  ['invalid JSON', file('{"a": {"dtype": "F32",'), /not valid JSON/],
  ['invalid UTF-8', file(Buffer.from('{"\xff\xfe": 1}', 'latin1')), /not valid UTF-8/],
  ['a JSON array header', file('[1, 2]'), /not a JSON object/],
  ['a JSON null header', file('null'), /not a JSON object/],
  ['a JSON string header', file('"hello"'), /not a JSON object/],
  ['an unknown dtype', file({ a: t('BF16', [1], [0, 2]) }, 2), /unsupported dtype "BF16"/],
  ['a prototype-key dtype', file({ a: t('constructor', [1], [0, 4]) }, 4), /unsupported dtype/],
  ['a numeric dtype', file({ a: t(7 as unknown as string, [1], [0, 4]) }, 4), /unsupported dtype/],
  ['a negative dim', file({ a: t('F32', [-1], [0, 4]) }, 4), /invalid shape/],
  ['a fractional dim', file({ a: t('F32', [1.5], [0, 4]) }, 4), /invalid shape/],
  ['a string dim', file({ a: t('F32', ['1'], [0, 4]) }, 4), /invalid shape/],
  ['a shape that is not an array', file({ a: t('F32', 1, [0, 4]) }, 4), /invalid shape/],
  ['rank 9', file({ a: t('U8', [1, 1, 1, 1, 1, 1, 1, 1, 1], [0, 1]) }, 1), /invalid shape/],
  ['a huge dim', file({ a: t('F32', [2 ** 40], [0, 4]) }, 4), /needs more than the file's 4 data bytes/],
  ['dims whose product overflows', file({ a: t('U8', [2 ** 30, 2 ** 30, 2 ** 30], [0, 0]) }, 0), /needs more than/],
  ['missing data_offsets', file({ a: { dtype: 'F32', shape: [1] } }, 4), /invalid data_offsets/],
  ['one data offset', file({ a: t('F32', [1], [0]) }, 4), /invalid data_offsets/],
  ['negative data offsets', file({ a: t('F32', [1], [-4, 0]) }, 4), /invalid data_offsets/],
  ['string data offsets', file({ a: t('F32', [1], ['0', '4']) }, 4), /invalid data_offsets/],
  ['reversed data offsets', file({ a: t('F32', [0], [4, 0]) }, 4), /fall outside/],
  ['data offsets past the data', file({ a: t('F32', [1], [4, 8]) }, 4), /fall outside the 4 data bytes/],
  ['truncated data', file({ a: f32([0, 4]), b: f32([4, 8]) }, 6), /fall outside/],
  ['overlapping tensors', file({ a: f32([0, 4]), b: f32([0, 4]) }, 4), /overlapping or non-contiguous/],
  ['partly overlapping tensors', file({ a: f32([0, 8]), b: f32([4, 12]) }, 12), /overlapping or non-contiguous/],
  ['a gap between tensors', file({ a: f32([0, 4]), b: f32([8, 12]) }, 12), /starts at data byte 8, expected 4/],
  ['trailing bytes', file({ a: f32([0, 4]) }, 8), /4 bytes after the last tensor/],
  ['a size mismatch', file({ a: t('F32', [2], [0, 4]) }, 8), /needs 8 bytes but its data_offsets span 4/],
  ['a duplicate name', file('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1), /"a" appears twice/],
  ['a duplicate name spelled with an escape', file('{"ab":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\\u0061b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1), /"ab" appears twice/],
  ['a duplicate field in an entry', file('{"a":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}}', 1), /"dtype" appears twice/],
  ['a parent-folder name', file({ '../../etc/passwd': t('U8', [1], [0, 1]) }, 1), /not allowed/],
  ['a ".." segment inside a name', file({ 'a/../b': t('U8', [1], [0, 1]) }, 1), /not allowed/],
  ['an absolute name', file({ '/abs': t('U8', [1], [0, 1]) }, 1), /not allowed/],
  ['an empty segment', file({ 'a//b': t('U8', [1], [0, 1]) }, 1), /not allowed/],
  ['a "." name', file({ '.': t('U8', [1], [0, 1]) }, 1), /not allowed/],
  ['an empty name', file({ '': t('U8', [1], [0, 1]) }, 1), /not allowed/],
  ['a NUL in a name', file({ 'a\u0000b': t('U8', [1], [0, 1]) }, 1), /not allowed/],
  ['a newline in a name', file({ 'a\nb': t('U8', [1], [0, 1]) }, 1), /not allowed/],
  ['a space in a name', file({ 'a b': t('U8', [1], [0, 1]) }, 1), /not allowed/],
  ['a 201-character name', file({ ['n'.repeat(201)]: t('U8', [1], [0, 1]) }, 1), /not allowed/],
  ['a "__proto__" tensor', file('{"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1), /not allowed/],
  ['an entry that is a number', file({ a: 5 }), /entry a is not an object/],
  ['an entry that is an array', file({ a: ['F32', [1], [0, 4]] }, 4), /entry a is not an object/],
  ['an entry that is null', file({ a: null }), /entry a is not an object/],
  ['metadata that is an array', file({ __metadata__: ['x'] }), /__metadata__ must be an object/],
  ['a non-string metadata value', file({ __metadata__: { step: 3 } }), /__metadata__\."step" must be a string/],
  ['a "__proto__" metadata key', file('{"__metadata__":{"__proto__":"x"}}'), /forbidden key "__proto__"/],
];

describe('safetensors', () => {
  it('round-trips tensors and metadata, with the data 8-byte aligned', () => {
    const bytes = encodeSafetensors(sample, { step: '12', note: 'ünïcode ✓' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8'));
    expect(header['levels.0.weight']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: expect.any(Array) });
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ step: '12', note: 'ünïcode ✓' });
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(sample).sort());
    for (const [name, s] of Object.entries(sample)) {
      expect(tensors[name].dtype).toBe(s.dtype);
      expect(tensors[name].shape).toEqual(s.shape);
      expect(tensors[name].data.constructor).toBe(s.data.constructor);
      expect(Array.from(tensors[name].data)).toEqual(Array.from(s.data));
    }
  });

  it('writes little-endian bytes a reader in another language would expect', () => {
    const bytes = encodeSafetensors({ x: { dtype: 'float32', shape: [1], data: Float32Array.of(1) } });
    // 1.0f is 0x3f800000; little-endian puts 0x00 0x00 0x80 0x3f at the start of the data.
    expect(Array.from(bytes.subarray(bytes.length - 4))).toEqual([0x00, 0x00, 0x80, 0x3f]);
    expect(new DataView(bytes.buffer).getBigUint64(0, true)).toBe(BigInt(bytes.length - 12));
  });

  it('copies tensors out of an unaligned Buffer into arrays of their own', () => {
    const good = encodeSafetensors(sample);
    // A Buffer whose bytes start at an odd offset: a Float32Array view there would throw.
    const backing = Buffer.alloc(good.length + 3);
    backing.set(good, 3);
    const unaligned = backing.subarray(3);
    const { tensors } = decodeSafetensors(unaligned, 'unaligned');
    const w = tensors['levels.0.weight'].data;
    expect(w).toBeInstanceOf(Float32Array);
    expect(w.byteOffset).toBe(0);
    expect(w.buffer.byteLength).toBe(w.byteLength);
    expect(Array.from(w)).toEqual([1, 2, 3, 4, 5, 6]);
    unaligned.fill(0);
    expect(Array.from(w)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('accepts a tensor with a zero dim among huge ones: it holds no values', () => {
    const { tensors } = decodeSafetensors(file({ a: t('F64', [2 ** 40, 0, 2 ** 40], [0, 0]) }));
    expect(tensors.a.shape).toEqual([2 ** 40, 0, 2 ** 40]);
    expect(tensors.a.data.length).toBe(0);
  });

  it('accepts a header padded with spaces and files from other writers with any tensor order', () => {
    const header = { b: t('U8', [2], [0, 2]), a: t('I32', [1], [2, 6]), __metadata__: { format: 'pt' } };
    const data = Uint8Array.from([9, 8, 0xff, 0xff, 0xff, 0xff]);
    const { tensors, metadata } = decodeSafetensors(file(`${JSON.stringify(header)}      `, data));
    expect(Array.from(tensors.b.data)).toEqual([9, 8]);
    expect(Array.from(tensors.a.data)).toEqual([-1]);
    expect(metadata).toEqual({ format: 'pt' });
  });

  it.each(hostile)('refuses %s with BAD_CHECKPOINT naming the file', (_label, bytes, pattern) => {
    const err = decodeError(bytes);
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err.code).toBe('BAD_CHECKPOINT');
    expect(err.message).toMatch(/^x\.safetensors: /);
    expect(err.message).toMatch(pattern);
  });

  it('refuses to write what it could not read back', () => {
    const ok = sample.scalar;
    const cases: [Record<string, NamedArray>, Record<string, string> | undefined, RegExp][] = [
      [{ '../x': ok }, undefined, /tensor name "..\/x" is not allowed/],
      [{ __metadata__: ok }, undefined, /not allowed/],
      [{ x: { dtype: 'float32', shape: [2], data: Float32Array.of(1) } }, undefined, /needs 2 values, got 1/],
      [{ x: { dtype: 'float32', shape: [1], data: Int32Array.of(1) } }, undefined, /is float32 but its data is a Int32Array/],
      [{ x: { dtype: 'bfloat16' as 'float32', shape: [1], data: Float32Array.of(1) } }, undefined, /unsupported dtype "bfloat16"/],
      [{ x: { dtype: 'float32', shape: [-1], data: Float32Array.of(1) } }, undefined, /invalid shape/],
      [{}, { step: 3 as unknown as string }, /metadata "step" must be a string/],
    ];
    for (const [tensors, meta, pattern] of cases) {
      expect(() => encodeSafetensors(tensors, meta)).toThrow(pattern);
      try {
        encodeSafetensors(tensors, meta);
      } catch (err) {
        expect((err as CheckpointError).code).toBe('BAD_ARGUMENT');
      }
    }
  });

  it('round-trips any tensor map and metadata, bit for bit (property)', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9_-]{1,6}(\.[A-Za-z0-9_-]{1,6})?$/);
    const name = fc
      .array(segment, { minLength: 1, maxLength: 3 })
      .map((parts) => parts.join('/'))
      .filter((n) => n !== '__proto__' && n !== '__metadata__');
    const tensor: fc.Arbitrary<NamedArray> = fc
      .tuple(fc.constantFrom('float32', 'float64', 'int32', 'uint8' as const), fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }))
      .chain(([dtype, shape]) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const size = { minLength: n, maxLength: n };
        const data: fc.Arbitrary<NamedArray['data']> =
          dtype === 'float32'
            ? fc.float32Array(size)
            : dtype === 'float64'
              ? fc.float64Array(size)
              : dtype === 'int32'
                ? fc.int32Array(size)
                : fc.uint8Array(size);
        return data.map((d) => ({ dtype, shape, data: d }));
      });
    const metadata = fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 12 }), { maxKeys: 3 }).filter((m) => !Object.hasOwn(m, '__proto__'));
    fc.assert(
      fc.property(fc.dictionary(name, tensor, { maxKeys: 6 }), metadata, (tensors, meta) => {
        const bytes = encodeSafetensors(tensors, meta);
        expect((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8).toBe(0);
        const back = decodeSafetensors(bytes);
        expect(back.metadata).toEqual({ ...meta });
        expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
        for (const [k, v] of Object.entries(tensors)) {
          expect(back.tensors[k].dtype).toBe(v.dtype);
          expect(back.tensors[k].shape).toEqual(v.shape);
          // Bytes, not values: NaN payloads and -0 must survive too.
          expect(bytesOf(back.tensors[k].data).equals(bytesOf(v.data))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  /** Decodes damaged `bytes`: a result must agree with the file's own header, an error must be BAD_CHECKPOINT. */
  function decodesConsistentlyOrRefuses(bytes: Uint8Array): 'accepted' | 'refused' {
    let result: ReturnType<typeof decodeSafetensors>;
    try {
      result = decodeSafetensors(bytes, 'fuzz.safetensors');
    } catch (err) {
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as CheckpointError).code).toBe('BAD_CHECKPOINT');
      expect((err as Error).message.startsWith('fuzz.safetensors: ')).toBe(true);
      return 'refused';
    }
    const n = Number(Buffer.from(bytes.buffer, bytes.byteOffset, 8).readBigUInt64LE(0));
    const header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, n).toString('utf8'));
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    expect(Object.keys(result.tensors).sort()).toEqual(names.sort());
    expect(result.metadata).toEqual(header.__metadata__ ?? {});
    // The spec, checked independently: the tensors' byte ranges tile the data exactly.
    const spans = names.map((k) => header[k].data_offsets as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let cursor = 0;
    for (const [begin, end] of spans) {
      expect(begin).toBe(cursor);
      expect(end).toBeGreaterThanOrEqual(begin);
      cursor = end;
    }
    expect(8 + n + cursor).toBe(bytes.length);
    for (const name of names) {
      const got = result.tensors[name];
      const entry = header[name];
      expect(CODES[got.dtype]).toBe(entry.dtype);
      expect(got.shape).toEqual(entry.shape);
      expect(got.data.length).toBe(got.shape.reduce((a: number, b: number) => a * b, 1));
      expect(got.data.byteOffset % got.data.BYTES_PER_ELEMENT).toBe(0);
      const [begin, end] = entry.data_offsets;
      expect(bytesOf(got.data).equals(Buffer.from(bytes.subarray(8 + n + begin, 8 + n + end)))).toBe(true);
    }
    return 'accepted';
  }

  it('never misreads or crashes on damaged bytes: truncations, bit flips, overwrites (fuzz)', () => {
    const good = encodeSafetensors(sample, { note: 'fuzz' });
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat({ max: good.length }) }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat({ max: good.length - 1 }), bit: fc.nat({ max: 7 }) }),
      fc.record({ kind: fc.constant('byte' as const), at: fc.nat({ max: good.length - 1 }), value: fc.nat({ max: 255 }) }),
      fc.record({ kind: fc.constant('length' as const), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
      fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    );
    const outcomes = { accepted: 0, refused: 0 };
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        let bytes = good.slice();
        for (const m of mutations) {
          if (m.kind === 'truncate') bytes = bytes.slice(0, m.at);
          else if (m.kind === 'append') bytes = Uint8Array.from([...bytes, ...m.extra]);
          else if (m.kind === 'length') {
            if (bytes.length >= 8) new DataView(bytes.buffer).setBigUint64(0, m.value, true);
          } else if (m.at < bytes.length) bytes[m.at] = m.kind === 'flip' ? bytes[m.at] ^ (1 << m.bit) : m.value;
        }
        outcomes[decodesConsistentlyOrRefuses(bytes)] += 1;
      }),
      { numRuns: 3000 },
    );
    // Bit flips in tensor data leave a valid file: the fuzzer must exercise both outcomes.
    expect(outcomes.accepted).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  it('never misreads or crashes on edited headers (fuzz)', () => {
    const good = encodeSafetensors(sample, { note: 'fuzz' });
    const n = Number(new DataView(good.buffer).getBigUint64(0, true));
    const data = good.subarray(8 + n);
    const original = JSON.parse(Buffer.from(good.subarray(8, 8 + n)).toString('utf8')) as Record<string, Record<string, unknown>>;
    const names = Object.keys(original);
    const edit = fc.oneof(
      // Replace one field of one entry (or the whole entry) with any JSON value.
      fc.record({
        kind: fc.constant('field' as const),
        name: fc.constantFrom(...names),
        field: fc.constantFrom('dtype', 'shape', 'data_offsets', null),
        value: fc.oneof(fc.jsonValue(), fc.constantFrom('F32', 'F64', 'I32', 'U8', 'BF16', [0, 4], [4, 0], [-1], [2 ** 53], [1e300], 'toString')),
      }),
      fc.record({ kind: fc.constant('offset' as const), name: fc.constantFrom(...names), which: fc.nat({ max: 1 }), delta: fc.integer({ min: -16, max: 16 }) }),
      fc.record({ kind: fc.constant('rename' as const), name: fc.constantFrom(...names), to: fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom('..', 'a/../b', '__proto__', 'constructor', '', 'x\u0000')) }),
      fc.record({ kind: fc.constant('remove' as const), name: fc.constantFrom(...names) }),
      fc.record({ kind: fc.constant('add' as const), to: fc.string({ maxLength: 8 }), value: fc.jsonValue() }),
    );
    const outcomes = { accepted: 0, refused: 0 };
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), fc.boolean(), (edits, duplicate) => {
        const header: Record<string, unknown> = structuredClone(original);
        for (const e of edits) {
          const entry = header[(e as { name?: string }).name ?? ''] as Record<string, unknown> | undefined;
          if (e.kind === 'field' && entry && typeof entry === 'object') {
            if (e.field === null) header[e.name] = e.value;
            else entry[e.field] = e.value;
          } else if (e.kind === 'offset' && entry && Array.isArray(entry.data_offsets)) {
            (entry.data_offsets as number[])[e.which] += e.delta;
          } else if (e.kind === 'rename' && e.name in header) {
            const value = header[e.name];
            delete header[e.name];
            Object.defineProperty(header, e.to, { value, enumerable: true, writable: true, configurable: true });
          } else if (e.kind === 'remove') {
            delete header[e.name];
          } else if (e.kind === 'add') {
            Object.defineProperty(header, e.to, { value: e.value, enumerable: true, writable: true, configurable: true });
          }
        }
        let json = JSON.stringify(header);
        // Repeat the first entry as raw text: JSON.parse would silently keep only one of them.
        if (duplicate && json.length > 2) json = `{${json.slice(1, -1)},${json.slice(1, -1)}}`;
        outcomes[decodesConsistentlyOrRefuses(file(json, data))] += 1;
      }),
      { numRuns: 2000 },
    );
    expect(outcomes.accepted).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});
