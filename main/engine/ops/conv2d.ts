// Stride-1 NHWC convolutions for the flows, with gradients written in tfjs ops where a backend
// lacks the native kernels: wasm has no Conv2DBackpropFilter, and its conv2dTranspose and
// transposed matMul are several times slower than a forward conv or a plain matMul.
import * as tf from '../tf.ts';

/** Backends whose native conv gradients are missing or slow; others use tfjs's own. */
const CUSTOM_GRADIENT_BACKENDS = new Set(['wasm']);

function useCustomGradient(): boolean {
  return CUSTOM_GRADIENT_BACKENDS.has(tf.getBackend());
}

/** [kh, kw, in, out] -> spatially flipped [kh, kw, out, in], the filter of the input gradient. */
function flippedTransposed(filter: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]);
}

/** [N, H', W', kh*kw*C] patches in the filter's (i, j, c) order: im2col as one concat. */
function patches(x: tf.Tensor4D, kh: number, kw: number, outH: number, outW: number): tf.Tensor4D {
  if (kh === 1 && kw === 1) return x;
  const slices: tf.Tensor4D[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) slices.push(tf.slice(x, [0, i, j, 0], [-1, outH, outW, -1]));
  }
  return tf.concat(slices, 3);
}

function samePadding(k: number): [number, number] {
  return [Math.floor((k - 1) / 2), Math.ceil((k - 1) / 2)];
}

/** dL/dfilter = im2col(x)^T dy, with the transpose made explicit (fast on wasm). */
function filterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], padding: 'same' | 'valid'): tf.Tensor4D {
  const [kh, kw, cin, cout] = filterShape;
  const [, outH, outW] = dy.shape;
  const padded = padding === 'same' ? tf.pad(x, [[0, 0], samePadding(kh), samePadding(kw), [0, 0]]) : x;
  const cols = tf.reshape(patches(padded, kh, kw, outH, outW), [-1, kh * kw * cin]);
  const dy2d = tf.reshape(dy, [-1, cout]);
  return tf.reshape(tf.matMul(tf.transpose(cols), dy2d), [kh, kw, cin, cout]);
}

/** dL/dx = conv(dy, flipped filter): full correlation for 'valid', same-size for odd 'same'. */
function inputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, padding: 'same' | 'valid'): tf.Tensor4D {
  const [kh, kw] = filter.shape;
  const flipped = flippedTransposed(filter);
  if (padding === 'same') {
    // For an even kernel the forward pads more at the end; the gradient pads the mirror image.
    const [pt, pb] = samePadding(kh);
    const [pl, pr] = samePadding(kw);
    return tf.conv2d(tf.pad(dy, [[0, 0], [pb, pt], [pr, pl], [0, 0]]), flipped, 1, 'valid');
  }
  return tf.conv2d(tf.pad(dy, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]]), flipped, 1, 'valid');
}

type BinaryOp = (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

function convWithCustomGradient(padding: 'same' | 'valid'): BinaryOp {
  return tf.customGrad((x, filter, save) => {
    const xs = x as tf.Tensor4D;
    const f = filter as tf.Tensor4D;
    (save as unknown as (t: tf.Tensor[]) => void)([xs, f]);
    return {
      value: tf.conv2d(xs, f, 1, padding),
      gradFunc: (dy, saved) => {
        const [sx, sf] = saved as [tf.Tensor4D, tf.Tensor4D];
        const g = dy as tf.Tensor4D;
        return [inputGradient(g, sf, padding), filterGradient(sx, g, sf.shape, padding)];
      },
    };
  }) as unknown as BinaryOp;
}

const customConv = { same: convWithCustomGradient('same'), valid: convWithCustomGradient('valid') };

/** conv2d, stride 1, NHWC, filter [kh, kw, in, out]. */
export function conv2d(x: tf.Tensor4D, filter: tf.Tensor4D, padding: 'same' | 'valid' = 'same'): tf.Tensor4D {
  if (!useCustomGradient()) return tf.conv2d(x, filter, 1, padding);
  return customConv[padding](x, filter) as tf.Tensor4D;
}

const customDense: BinaryOp = tf.customGrad((x, w, save) => {
  const x2 = x as tf.Tensor2D;
  const w2 = w as tf.Tensor2D;
  (save as unknown as (t: tf.Tensor[]) => void)([x2, w2]);
  return {
    value: tf.matMul(x2, w2),
    gradFunc: (dy, saved) => {
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, tf.transpose(sw)), tf.matMul(tf.transpose(sx), g)];
    },
  };
}) as unknown as BinaryOp;

/** x [M, K] times w [K, N], with explicit transposes in the gradient on slow backends. */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return (useCustomGradient() ? customDense(x, w) : tf.matMul(x, w)) as tf.Tensor2D;
}

/** A 1x1 convolution as a matMul over pixels: x [N, H, W, C] times w [C, C']. */
export function conv1x1(x: tf.Tensor4D, w: tf.Tensor2D): tf.Tensor4D {
  const [n, h, wd, c] = x.shape;
  return tf.reshape(dense(tf.reshape(x, [n * h * wd, c]), w), [n, h, wd, w.shape[1]]);
}

/**
 * The one-hot matrix P with P[r, order[r]] = 1, in float32. Built as int32 then cast: wasm's
 * OneHot writes int bit patterns into a float32 output when asked for float32 directly.
 */
export function permutationMatrix(order: tf.Tensor1D, n: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(order, n), 'float32') as tf.Tensor2D);
}
