// Stride-1 NHWC convolutions for the flows, with gradients written in tfjs ops where a backend
// lacks the native kernels: wasm has no Conv2DBackpropFilter, and its conv2dTranspose and
// transposed matMul are several times slower than a forward conv or a plain matMul. The *Bias
// variants fuse bias and ReLU into the forward kernel (see docs/performance.md for the profile).
import * as tf from '../tf.ts';
import { convAsMatMul, patches, samePadding, type Activation, type Pads } from './conv-as-matmul.ts';

/** Recording for onnxruntime (onnx/trace-backend.ts): convolutions as matMuls, tfjs's own gradients. */
function asMatMuls(): boolean {
  return tf.getBackend() === 'onnx-trace';
}

/**
 * Gradients in tfjs ops where the active backend has no native filter gradient (wasm, whose
 * transposed convolutions and matMuls are slow too, as measured); tfjs's own everywhere else.
 */
function useCustomGradient(): boolean {
  return !asMatMuls() && tf.getKernel(tf.Conv2DBackpropFilter, tf.getBackend()) === undefined;
}

/**
 * [kh, kw, in, out] -> spatially flipped [kh, kw, out, in], the filter of the input gradient.
 * The flip is a product with the anti-identity over the kh*kw taps: wasm's Reverse (and Gather)
 * take about ten times as long for a 3x3x128x48 filter.
 */
function flippedTransposed(filter: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, cin, cout] = filter.shape;
  const taps = kh * kw;
  const anti = new Float32Array(taps * taps);
  for (let t = 0; t < taps; t++) anti[t * taps + (taps - 1 - t)] = 1;
  const flipped = tf.matMul(tf.tensor2d(anti, [taps, taps]), tf.reshape(filter, [taps, cin * cout]));
  return tf.transpose(tf.reshape(flipped, [kh, kw, cin, cout]), [0, 1, 3, 2]);
}

/**
 * dL/dfilter, and with `withBias` the bias gradient (dy summed over pixels). Wide inputs and
 * narrow outputs (a coupling net's last conv): one convolution with the batch as channels,
 * x^T [in, H, W, N] with dy^T [H, W, N, out] as the filter, so no patches are copied. Otherwise
 * im2col(x)^T dy with the transpose made explicit (fast on wasm).
 */
function filterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], padding: 'same' | 'valid', withBias = false): [tf.Tensor4D, tf.Tensor1D | null] {
  const [kh, kw, cin, cout] = filterShape;
  const dy2d = tf.reshape(dy, [-1, cout]) as tf.Tensor2D;
  if ((kh > 1 || kw > 1) && cout <= 8 * cin) {
    const pad: [[number, number], [number, number], [number, number], [number, number]] = padding === 'same' ? [[0, 0], samePadding(kh), samePadding(kw), [0, 0]] : [[0, 0], [0, 0], [0, 0], [0, 0]];
    const byChannel = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D;
    const dyAsFilter = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    const dw = tf.transpose(tf.conv2d(byChannel, dyAsFilter, 1, pad), [1, 2, 0, 3]) as tf.Tensor4D;
    return [dw, withBias ? columnSums(dy2d) : null];
  }
  const pads: Pads = padding === 'same' ? [...samePadding(kh), ...samePadding(kw)] : [0, 0, 0, 0];
  const cols = tf.reshape(patches(x, kh, kw, pads), [-1, kh * kw * cin]);
  if (!withBias) return [tf.reshape(tf.matMul(tf.transpose(cols), dy2d), [kh, kw, cin, cout]), null];
  const [dw, db] = weightAndBiasGradient(tf.transpose(cols) as tf.Tensor2D, dy2d);
  return [tf.reshape(dw, [kh, kw, cin, cout]), db];
}

/**
 * xT g and g summed over its rows from one matMul: a row of ones appended to xT [K, M] (one
 * contiguous copy) saves packing g [M, N] a second time, which costs about as much as the sum.
 */
function weightAndBiasGradient(xT: tf.Tensor2D, g: tf.Tensor2D): [tf.Tensor2D, tf.Tensor1D] {
  const [k, m] = xT.shape;
  const both = tf.matMul(tf.concat([xT, tf.ones([1, m])], 0), g);
  return [tf.slice(both, [0, 0], [k, -1]) as tf.Tensor2D, tf.reshape(tf.slice(both, [k, 0], [1, -1]), [g.shape[1]]) as tf.Tensor1D];
}

/** dL/dx = conv(dy, flipped filter): full correlation for 'valid', same-size for odd 'same'. */
function inputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, padding: 'same' | 'valid'): tf.Tensor4D {
  const [kh, kw] = filter.shape;
  const flipped = kh === 1 && kw === 1 ? (tf.transpose(filter, [0, 1, 3, 2]) as tf.Tensor4D) : flippedTransposed(filter);
  if (padding === 'same') {
    // For an even kernel the forward pads more at the end; the gradient pads the mirror image.
    const [pt, pb] = samePadding(kh);
    const [pl, pr] = samePadding(kw);
    return tf.conv2d(dy, flipped, 1, [[0, 0], [pb, pt], [pr, pl], [0, 0]]);
  }
  return tf.conv2d(dy, flipped, 1, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]]);
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
        return [inputGradient(g, sf, padding), filterGradient(sx, g, sf.shape, padding)[0]];
      },
    };
  }) as unknown as BinaryOp;
}

const customConv = { same: convWithCustomGradient('same'), valid: convWithCustomGradient('valid') };

/** conv2d, stride 1, NHWC, filter [kh, kw, in, out]. */
export function conv2d(x: tf.Tensor4D, filter: tf.Tensor4D, padding: 'same' | 'valid' = 'same'): tf.Tensor4D {
  if (asMatMuls()) return convAsMatMul(x, filter, null, 'linear', padding);
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

export type { Activation };

/** Sum over every row of [M, C]: a matMul with ones, far faster on wasm than Sum over axis 0. */
function columnSums(g: tf.Tensor2D): tf.Tensor1D {
  return tf.reshape(tf.matMul(tf.ones([1, g.shape[0]]), g), [g.shape[1]]) as tf.Tensor1D;
}

/** dy through the activation, read from the layer's output (relu' is 1 where the output is positive). */
function throughActivation(dy: tf.Tensor, y: tf.Tensor, activation: Activation): tf.Tensor {
  return activation === 'relu' ? tf.mul(dy, tf.step(y)) : dy;
}

type TernaryOp = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor;

/**
 * activation(op(x, w) + bias) as one fused kernel, with hand-written gradients: `backward`
 * gets the gradient already taken back through the activation and returns [dx, dw, dbias].
 */
function fusedWithCustomGradient<T extends tf.Tensor>(
  forward: (x: T, w: T, bias: tf.Tensor) => T,
  backward: (x: T, w: T, g: T) => tf.Tensor[],
  activation: Activation,
): TernaryOp {
  return tf.customGrad((x, w, bias, save) => {
    const y = forward(x as T, w as T, bias as tf.Tensor);
    (save as unknown as (t: tf.Tensor[]) => void)([x as T, w as T, y]);
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const [sx, sw, sy] = saved as [T, T, T];
        return backward(sx, sw, throughActivation(dy as tf.Tensor, sy, activation) as T);
      },
    };
  }) as unknown as TernaryOp;
}

function convBiasWithCustomGradient(activation: Activation): TernaryOp {
  return fusedWithCustomGradient<tf.Tensor4D>(
    (x, filter, bias) => tf.fused.conv2d({ x, filter, strides: 1, pad: 'same', bias, activation }),
    (x, filter, g) => {
      const [dw, db] = filterGradient(x, g, filter.shape, 'same', true);
      return [inputGradient(g, filter, 'same'), dw, db!];
    },
    activation,
  );
}

const customConvBias = { linear: convBiasWithCustomGradient('linear'), relu: convBiasWithCustomGradient('relu') };

/**
 * activation(conv2d(x, filter, 'same') + bias): one fused kernel forward (bias and ReLU ride on
 * the convolution), and on wasm hand-written gradients with the bias gradient as a matMul.
 */
export function conv2dBias(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, activation: Activation = 'linear'): tf.Tensor4D {
  if (asMatMuls()) return convAsMatMul(x, filter, bias, activation, 'same');
  if (!useCustomGradient()) return tf.fused.conv2d({ x, filter, strides: 1, pad: 'same', bias, activation });
  return customConvBias[activation](x, filter, bias) as tf.Tensor4D;
}

function denseBiasWithCustomGradient(activation: Activation): TernaryOp {
  return fusedWithCustomGradient<tf.Tensor2D>(
    (x, w, bias) => tf.fused.matMul({ a: x, b: w, bias, activation }) as tf.Tensor2D,
    (x, w, g) => {
      const [dw, db] = weightAndBiasGradient(tf.transpose(x) as tf.Tensor2D, g);
      return [tf.matMul(g, tf.transpose(w)), dw, db];
    },
    activation,
  );
}

const customDenseBias = { linear: denseBiasWithCustomGradient('linear'), relu: denseBiasWithCustomGradient('relu') };

/** activation(x w + bias) for x [M, K], w [K, N]: one fused kernel forward, as conv2dBias. */
export function denseBias(x: tf.Tensor2D, w: tf.Tensor2D, bias: tf.Tensor1D, activation: Activation = 'linear'): tf.Tensor2D {
  if (!useCustomGradient()) return tf.fused.matMul({ a: x, b: w, bias, activation }) as tf.Tensor2D;
  return customDenseBias[activation](x, w, bias) as tf.Tensor2D;
}

/**
 * A filter or dense weight with its last axis (output channels) multiplied by `scale`, or itself
 * without one: a per-channel factor after a convolution costs its weights' size here, not its
 * output's (N*H*W*C) as a product with the activations would.
 */
export function scaledOutputs<T extends tf.Tensor>(w: T, scale: tf.Tensor1D | null): T {
  return scale ? (tf.mul(w, scale) as T) : w;
}

/** activation(1x1 convolution + bias) as a fused matMul over pixels: x [N, H, W, C], w [C, C']. */
export function conv1x1Bias(x: tf.Tensor4D, w: tf.Tensor2D, bias: tf.Tensor1D, activation: Activation = 'linear'): tf.Tensor4D {
  const [n, h, wd, c] = x.shape;
  return tf.reshape(denseBias(tf.reshape(x, [n * h * wd, c]), w, bias, activation), [n, h, wd, w.shape[1]]);
}

/**
 * The one-hot matrix P with P[r, order[r]] = 1, in float32. Built as int32 then cast: wasm's
 * OneHot writes int bit patterns into a float32 output when asked for float32 directly.
 */
export function permutationMatrix(order: tf.Tensor1D, n: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(order, n), 'float32') as tf.Tensor2D);
}
