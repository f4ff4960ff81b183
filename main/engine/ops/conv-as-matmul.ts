// Stride-1 NHWC convolutions written as matrix products and gathers, for backends that run them
// as one native graph (onnxruntime, through onnx/trace-backend.ts). No layout changes: a narrow
// input is unfolded into patches (im2col) before one product; a wide input multiplies every tap
// at once and the narrow per-tap results are folded, summed at their offsets. Unfold and fold are
// each other's gradients, so backward passes stay products plus one gather each.
import * as tf from '../tf.ts';

export type Activation = 'linear' | 'relu';

/** Zero padding [top, bottom, left, right] of a convolution's spatial axes. */
export type Pads = [number, number, number, number];

/** A 'same' convolution's padding of one axis, [before, after], for a kernel of size k. */
export function samePadding(k: number): [number, number] {
  return [Math.floor((k - 1) / 2), Math.ceil((k - 1) / 2)];
}

function padded(x: tf.Tensor4D, [t, b, l, r]: Pads): tf.Tensor4D {
  return t + b + l + r === 0 ? x : tf.pad(x, [[0, 0], [t, b], [l, r], [0, 0]]);
}

/** The pads of the adjoint shift: what one side added, the other side's kernel overhang removes. */
function adjointPads([t, b, l, r]: Pads, kh: number, kw: number): Pads {
  return [kh - 1 - t, kh - 1 - b, kw - 1 - l, kw - 1 - r];
}

/** Tap (i, j) in the channel-block order of a (possibly reversed) unfold or fold. */
function block(i: number, j: number, kh: number, kw: number, reversed: boolean): number {
  return reversed ? (kh - 1 - i) * kw + (kw - 1 - j) : i * kw + j;
}

/** A 1x1 unpadded shift: unfold and fold leave the tensor as it is. */
const isIdentity = (s: Shift) => s.kh * s.kw === 1 && s.pads.every((p) => p === 0);

interface Shift {
  kh: number;
  kw: number;
  pads: Pads;
  /** Taps in reverse order, as the adjoint of the opposite operation needs. */
  reversed: boolean;
}

/**
 * out[n, y, x, block(i, j)] = pad(x)[n, y + i, x + j]: im2col with the filter's (i, j, c) order,
 * as shifted slices (wasm's Gather is several times slower than its slices and concat).
 */
function unfoldSlices(x: tf.Tensor4D, s: Shift): tf.Tensor4D {
  if (isIdentity(s)) return x;
  const [, h, w] = x.shape;
  const outH = h + s.pads[0] + s.pads[1] - s.kh + 1;
  const outW = w + s.pads[2] + s.pads[3] - s.kw + 1;
  const src = padded(x, s.pads);
  const blocks: tf.Tensor4D[] = new Array(s.kh * s.kw);
  for (let i = 0; i < s.kh; i++) {
    for (let j = 0; j < s.kw; j++) blocks[block(i, j, s.kh, s.kw, s.reversed)] = tf.slice(src, [0, i, j, 0], [-1, outH, outW, -1]);
  }
  return tf.concat(blocks, 3);
}

/**
 * The row each (output pixel, tap) reads: its source pixel's row times `stride` plus `offset` of
 * the tap, or `zero` (a zero row appended to the source) where the tap falls in the padding.
 * Pixel-major (each pixel's taps together, unfold's order) or tap-major (each tap's pixels together).
 */
function tapRows(h: number, w: number, s: Shift, stride: number, offset: (i: number, j: number) => number, zero: number, tapMajor: boolean): Int32Array {
  const outH = h + s.pads[0] + s.pads[1] - s.kh + 1;
  const outW = w + s.pads[2] + s.pads[3] - s.kw + 1;
  const taps = s.kh * s.kw;
  const rows = new Int32Array(outH * outW * taps);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      for (let i = 0; i < s.kh; i++) {
        for (let j = 0; j < s.kw; j++) {
          const sy = y + i - s.pads[0];
          const sx = x + j - s.pads[2];
          const b = block(i, j, s.kh, s.kw, s.reversed);
          rows[tapMajor ? b * outH * outW + y * outW + x : (y * outW + x) * taps + b] = sy >= 0 && sy < h && sx >= 0 && sx < w ? (sy * w + sx) * stride + offset(i, j) : zero;
        }
      }
    }
  }
  return rows;
}

/**
 * im2col as one gather of pixel rows from x with a zero row appended: on onnxruntime one Pad and
 * one Gather, which runs on every thread, where shifted slices were nine Pads and a Concat on one.
 */
function unfold(x: tf.Tensor4D, s: Shift): tf.Tensor4D {
  if (isIdentity(s)) return x;
  const [n, h, w, c] = x.shape;
  const outH = h + s.pads[0] + s.pads[1] - s.kh + 1;
  const outW = w + s.pads[2] + s.pads[3] - s.kw + 1;
  const rows = tf.pad(tf.reshape(x, [n, h * w, c]), [[0, 0], [0, 1], [0, 0]]);
  const picked = tf.gather(rows, tf.tensor1d(tapRows(h, w, s, 1, () => 0, h * w, false), 'int32'), 1);
  return tf.reshape(picked, [n, outH, outW, s.kh * s.kw * c]);
}

/**
 * out[n, y, x] = sum over taps of pad(z)[n, y + i, x + j, block(i, j)], the transpose of unfold:
 * one gather of each tap's channel block, tap-major, and a sum over the taps (over a leading axis
 * of contiguous rows, which onnxruntime sums several times faster than a middle axis of 9).
 */
function fold(z: tf.Tensor4D, s: Shift): tf.Tensor4D {
  if (isIdentity(s)) return z;
  const [n, h, w, kc] = z.shape;
  const taps = s.kh * s.kw;
  const c = kc / taps;
  const outH = h + s.pads[0] + s.pads[1] - s.kh + 1;
  const outW = w + s.pads[2] + s.pads[3] - s.kw + 1;
  const rows = tf.pad(tf.reshape(z, [n, h * w * taps, c]), [[0, 0], [0, 1], [0, 0]]);
  const picked = tf.gather(rows, tf.tensor1d(tapRows(h, w, s, taps, (i, j) => block(i, j, s.kh, s.kw, s.reversed), h * w * taps, true), 'int32'), 1);
  return tf.reshape(tf.sum(tf.reshape(picked, [n, taps, outH * outW * c]), 1), [n, outH, outW, c]);
}

/** im2col of x zero-padded by `pads`: [N, H', W', kh*kw*C] in the filter's (i, j, c) order. */
export function patches(x: tf.Tensor4D, kh: number, kw: number, pads: Pads): tf.Tensor4D {
  return unfoldSlices(x, { kh, kw, pads, reversed: false });
}

function adjoint(s: Shift): Shift {
  return { ...s, pads: adjointPads(s.pads, s.kh, s.kw), reversed: !s.reversed };
}

/** unfold with fold as its gradient (tfjs's own gradient of a gather is a scatter). */
function unfoldOp(x: tf.Tensor4D, s: Shift): tf.Tensor4D {
  if (isIdentity(s)) return x;
  const op = tf.customGrad((input) => ({ value: unfold(input as tf.Tensor4D, s), gradFunc: (dy) => fold(dy as tf.Tensor4D, adjoint(s)) }));
  return op(x) as tf.Tensor4D;
}

/** fold with unfold as its gradient. */
function foldOp(z: tf.Tensor4D, s: Shift): tf.Tensor4D {
  if (isIdentity(s)) return z;
  const op = tf.customGrad((input) => ({ value: fold(input as tf.Tensor4D, s), gradFunc: (dy) => unfold(dy as tf.Tensor4D, adjoint(s)) }));
  return op(z) as tf.Tensor4D;
}

/** activation(conv2d(x, filter, padding) + bias) from matMuls, pads and gathers only. */
export function convAsMatMul(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D | null, activation: Activation, padding: 'same' | 'valid'): tf.Tensor4D {
  const [kh, kw, cin, cout] = filter.shape;
  const [n, h, w] = x.shape;
  const [pt, pb] = padding === 'same' ? samePadding(kh) : [0, 0];
  const [pl, pr] = padding === 'same' ? samePadding(kw) : [0, 0];
  const shift: Shift = { kh, kw, pads: [pt, pb, pl, pr], reversed: false };
  const outH = h + pt + pb - kh + 1;
  const outW = w + pl + pr - kw + 1;
  if (cin <= cout) {
    const cols = unfoldOp(x, shift);
    const y = tf.fused.matMul({
      a: tf.reshape(cols, [-1, kh * kw * cin]) as tf.Tensor2D,
      b: tf.reshape(filter, [kh * kw * cin, cout]) as tf.Tensor2D,
      bias: bias ?? undefined,
      activation,
    });
    return tf.reshape(y, [n, outH, outW, cout]);
  }
  // z[p, block(i, j), o] = x[p] . filter[i, j, :, o], then each output pixel sums its taps.
  const perTap = tf.reshape(tf.transpose(filter, [2, 0, 1, 3]), [cin, kh * kw * cout]) as tf.Tensor2D;
  const z = tf.reshape(tf.matMul(tf.reshape(x, [-1, cin]) as tf.Tensor2D, perTap), [n, h, w, kh * kw * cout]) as tf.Tensor4D;
  let y = foldOp(z, shift);
  if (bias) y = tf.add(y, bias);
  return activation === 'relu' ? tf.relu(y) : y;
}
