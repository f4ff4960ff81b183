// The safetensors reader against hostile input: every malformed file is refused with
// BAD_CHECKPOINT, and a fuzzer's random truncations, bit flips and header edits never crash it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type NamedArray } from '../../main/engine/checkpoint/safetensors.ts';
import { CheckpointError } from '../../main/engine/errors.ts';

const sample: Record<string, NamedArray> = {
  'levels.0.weight': { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
  'levels.0.perm': { dtype: 'int32', shape: [3], data: Int32Array.from([2, 0, 1]) },
  scalar: { dtype: 'float64', shape: [], data: Float64Array.from([Math.PI]) },
};

function withHeader(header: object, data = new Uint8Array(0)): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function refused(bytes: Uint8Array, pattern: RegExp): void {
  let err: unknown;
  try {
    decodeSafetensors(bytes, 'x.safetensors');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CheckpointError);
  expect((err as CheckpointError).code).toBe('BAD_CHECKPOINT');
  expect((err as Error).message).toMatch(/^x\.safetensors: /);
  expect((err as Error).message).toMatch(pattern);
}

describe('safetensors', () => {
  it('round-trips tensors and metadata, 8-byte aligned', () => {
    const bytes = encodeSafetensors(sample, { step: '12' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ step: '12' });
    for (const [name, t] of Object.entries(sample)) {
      expect(tensors[name].dtype).toBe(t.dtype);
      expect(tensors[name].shape).toEqual(t.shape);
      expect(Array.from(tensors[name].data)).toEqual(Array.from(t.data));
    }
  });

  it('refuses each kind of malformed file with a clear reason', () => {
    const good = encodeSafetensors(sample);
    refused(good.subarray(0, 5), /too short/);
    refused(good.subarray(0, good.length - 3), /outside|past the end/);
    const lying = good.slice();
    new DataView(lying.buffer).setBigUint64(0, 2n ** 40n, true);
    refused(lying, /larger than/);
    const past = good.slice();
    new DataView(past.buffer).setBigUint64(0, BigInt(good.length), true);
    refused(past, /past the end/);
    refused(withHeader([1, 2] as unknown as object), /not a JSON object/);
    const notJson = withHeader({});
    notJson[8] = 0x7b + 1;
    refused(notJson, /not valid JSON/);
    refused(withHeader({ a: { dtype: 'BF16', shape: [1], data_offsets: [0, 2] } }, new Uint8Array(2)), /unsupported dtype/);
    refused(withHeader({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /invalid shape/);
    refused(withHeader({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, new Uint8Array(4)), /invalid shape/);
    refused(withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)), /needs 8 bytes/);
    refused(withHeader({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(4)), /outside/);
    refused(
      withHeader({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      /overlapping/,
    );
    refused(withHeader({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)), /not described/);
    refused(withHeader({ '../../etc/passwd': { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /not allowed/);
    refused(withHeader({ 'a\u0000b': { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /not allowed/);
    refused(withHeader({ __metadata__: { step: 3 } }), /must be a string/);
  });

  it('round-trips any tensor map (property)', () => {
    const tensor = fc.tuple(fc.constantFrom('float32', 'int32', 'uint8', 'float64'), fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 })).map(([dtype, shape]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = dtype === 'float32' ? Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3) : dtype === 'float64' ? Float64Array.from({ length: n }, (_, i) => i / 3) : dtype === 'int32' ? Int32Array.from({ length: n }, (_, i) => i - 5) : Uint8Array.from({ length: n }, (_, i) => i % 256);
      return { dtype, shape, data } as NamedArray;
    });
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_.]{0,12}$/), tensor, { maxKeys: 5 }), (tensors) => {
        const { tensors: back } = decodeSafetensors(encodeSafetensors(tensors));
        expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
        for (const [k, t] of Object.entries(tensors)) expect(Array.from(back[k].data)).toEqual(Array.from(t.data));
      }),
      { numRuns: 200 },
    );
  });

  it('never crashes on damaged files: truncations, bit flips and header edits (fuzz)', () => {
    const good = encodeSafetensors(sample, { note: 'fuzz' });
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat({ max: good.length }) }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat({ max: good.length - 1 }), bit: fc.nat({ max: 7 }) }),
      fc.record({ kind: fc.constant('byte' as const), at: fc.nat({ max: Math.min(good.length - 1, 200) }), value: fc.nat({ max: 255 }) }),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        let bytes = good.slice();
        for (const m of mutations) {
          if (m.kind === 'truncate') bytes = bytes.slice(0, m.at);
          else if (m.at < bytes.length) bytes[m.at] = m.kind === 'flip' ? bytes[m.at] ^ (1 << m.bit) : m.value;
        }
        try {
          const { tensors } = decodeSafetensors(bytes, 'fuzz');
          for (const t of Object.values(tensors)) expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
        } catch (err) {
          expect(err).toBeInstanceOf(CheckpointError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
