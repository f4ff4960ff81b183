// Invertible 1x1 convolution with the LU parametrisation (Glow, section 3.2):
// W = P L (U + diag(sign * exp(logs))), P fixed; log-det = H*W*sum(logs); starts as a rotation.
import * as tf from '../tf.ts';
import { conv1x1, permutationMatrix } from '../ops/conv2d.ts';
import type { Rng } from '../random.ts';
import type { FlowLayer } from './flow-layer.ts';
import { invert, luDecompose, matmul, randomRotation, type Matrix } from './linalg.ts';
import type { ParamScope } from './params.ts';

export class InvConv1x1 implements FlowLayer {
  /** rowOrder[r] = row of L U that is row r of W (the permutation P as a gather index). */
  private readonly rowOrder: tf.Variable;
  private readonly sign: tf.Variable;
  readonly lower: tf.Variable;
  readonly upper: tf.Variable;
  readonly logs: tf.Variable;
  private readonly lowerMask: tf.Tensor2D;
  private readonly eye: tf.Tensor2D;
  /** (W^-1)^T for the weights it was computed from, told apart by their data (assign replaces it). */
  private inverseCache: { from: object[]; value: tf.Tensor2D } | null = null;

  constructor(scope: ParamScope, private readonly channels: number, rng: Rng) {
    const c = channels;
    const { perm, lower, upper } = luDecompose(randomRotation(c, () => rng.normal()));
    const rowOrder = new Int32Array(c);
    for (let k = 0; k < c; k++) rowOrder[perm[k]] = k;
    const diag = new Float32Array(c);
    const sign = new Float32Array(c);
    const strictUpper = new Float32Array(c * c);
    for (let i = 0; i < c; i++) {
      const d = upper.data[i * c + i];
      diag[i] = Math.log(Math.abs(d));
      sign[i] = Math.sign(d);
      for (let j = i + 1; j < c; j++) strictUpper[i * c + j] = upper.data[i * c + j];
    }
    this.rowOrder = scope.buffer('row_order', tf.tensor1d(rowOrder, 'int32'));
    this.sign = scope.buffer('sign', tf.tensor1d(sign));
    this.lower = scope.variable('lower', tf.tensor2d(Float32Array.from(lower.data), [c, c]));
    this.upper = scope.variable('upper', tf.tensor2d(strictUpper, [c, c]));
    this.logs = scope.variable('logs', tf.tensor1d(diag));
    this.lowerMask = tf.keep(tf.tidy(() => tf.sub(tf.linalg.bandPart(tf.ones([c, c]), -1, 0), tf.eye(c)))) as tf.Tensor2D;
    this.eye = tf.keep(tf.eye(c));
    scope.derived('inverse_t', () => this.inverseTransposed());
    scope.onDispose(() => this.inverseCache?.value.dispose());
  }

  /** The C x C weight as a tensor, differentiable in lower, upper and logs. */
  weight(): tf.Tensor2D {
    return tf.tidy(() => {
      const l = tf.add(tf.mul(this.lower, this.lowerMask), this.eye);
      // eye * s puts s on the diagonal; tf.diag has no gradient.
      const u = tf.add(tf.mul(this.upper, tf.transpose(this.lowerMask)), tf.mul(this.eye, tf.mul(this.sign, tf.exp(this.logs))));
      // Row r of W is row rowOrder[r] of L U: a one-hot matrix product rather than tf.gather,
      // whose gradient needs a kernel (UnsortedSegmentSum) the wasm backend lacks.
      const p = permutationMatrix(this.rowOrder as tf.Tensor1D, this.channels);
      return tf.matMul(p, tf.matMul(l, u)) as tf.Tensor2D;
    });
  }

  forward(x: tf.Tensor4D, logdet: tf.Tensor1D): [tf.Tensor4D, tf.Tensor1D] {
    const [, h, w] = x.shape;
    // y = W x per pixel, i.e. rows times W^T.
    const y = conv1x1(x, tf.transpose(this.weight()) as tf.Tensor2D);
    return [y, tf.add(logdet, tf.mul(tf.sum(this.logs), h * w)) as tf.Tensor1D];
  }

  inverse(y: tf.Tensor4D): tf.Tensor4D {
    const invT = this.inverseTransposed();
    return tf.tidy(() => conv1x1(y, invT));
  }

  /** (W^-1)^T, inverted in float64 once per change of the weights; owned by the layer. */
  inverseTransposed(): tf.Tensor2D {
    const from = [this.lower, this.upper, this.logs, this.sign, this.rowOrder].map((v) => (v as unknown as { dataId: object }).dataId);
    if (this.inverseCache?.from.every((id, i) => id === from[i])) return this.inverseCache.value;
    const inv = invert(this.weightFloat64());
    const c = this.channels;
    const invT = new Float32Array(c * c);
    for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) invT[j * c + i] = inv.data[i * c + j];
    this.inverseCache?.value.dispose();
    this.inverseCache = { from, value: tf.keep(tf.tensor2d(invT, [c, c])) };
    return this.inverseCache.value;
  }

  /** W rebuilt in float64 from the parameters, so the inverse is as exact as possible. */
  weightFloat64(): Matrix {
    const c = this.channels;
    const lo = this.lower.dataSync();
    const up = this.upper.dataSync();
    const logs = this.logs.dataSync();
    const sign = this.sign.dataSync();
    const order = this.rowOrder.dataSync();
    const l: Matrix = { n: c, data: new Float64Array(c * c) };
    const u: Matrix = { n: c, data: new Float64Array(c * c) };
    for (let i = 0; i < c; i++) {
      for (let j = 0; j < c; j++) {
        if (j < i) l.data[i * c + j] = lo[i * c + j];
        else if (j > i) u.data[i * c + j] = up[i * c + j];
      }
      l.data[i * c + i] = 1;
      u.data[i * c + i] = sign[i] * Math.exp(logs[i]);
    }
    const lu = matmul(l, u);
    const w = new Float64Array(c * c);
    for (let r = 0; r < c; r++) w.set(lu.data.subarray(order[r] * c, order[r] * c + c), r * c);
    return { n: c, data: w };
  }
}
