// NumPy's .npy format (version 1.0) for the arrays the PyTorch package reads with numpy.load:
// a magic string, a padded Python-dict header (dtype, order, shape), then the raw little-endian data.

const MAGIC = Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00]);
const DESCR = { uint8: '|u1', int32: '<i4' } as const;

/** The bytes of a C-order .npy file holding `data` with `shape` (uint8 or little-endian int32). */
export function encodeNpy(data: Uint8Array | Int32Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`encodeNpy: shape [${shape.join(', ')}] holds ${count} values, the data ${data.length}.`);
  const descr = data instanceof Uint8Array ? DESCR.uint8 : DESCR.int32;
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  // The data starts 64-byte aligned; the header ends with a newline.
  const total = MAGIC.length + 2 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(MAGIC.length + 2 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint16(MAGIC.length, header.length, true);
  out.set(new TextEncoder().encode(header), MAGIC.length + 2);
  // Int32Array's bytes are the platform's order; every platform Node runs on here is little-endian.
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), MAGIC.length + 2 + header.length);
  return out;
}
