// Coupling layers: half of the input (by channel or by checkerboard) conditions a network that
// shifts and scales the other half. Affine: b' = (b + shift) * sigmoid(raw + 2); additive
// (NICE): b' = b + shift. Channel masks split channels; checkerboard masks alternate pixels.
// The scale is applied as exp(log scale), log scale = -softplus(-(raw + 2)), both ways: the
// inverse multiplies by exp(softplus(-(raw + 2))) rather than dividing by a sigmoid, which
// keeps its relative precision where the scale is ~1e-7 (a sigmoid there is off by its absolute
// error; onnxruntime's by 47% at -16) and gives tfjs and the traced graphs the same maths.
import * as tf from '../tf.ts';
import type { Rng } from '../random.ts';
import { CouplingNet, type NetNorm } from './coupling-net.ts';
import type { FlowLayer } from './flow-layer.ts';
import type { ParamScope } from './params.ts';

export interface CouplingOptions {
  /** 'affine' scales and shifts; 'additive' only shifts (volume preserving). */
  kind: 'affine' | 'additive';
  /** Which half conditions: channels split in two, or a spatial checkerboard. */
  mask: 'channel' | 'checkerboard';
  /** Swap the roles of the two halves (alternate layers set it to cover both). */
  flip: boolean;
  /** Width of the coupling network. */
  hidden: number;
  /** What follows the network's hidden convolutions. */
  net: NetNorm;
}

/** sigmoid(raw + 2) starts near 0.88, a gentle scale; the offset is Glow's. */
const SCALE_OFFSET = 2;

export class Coupling implements FlowLayer {
  private readonly net: CouplingNet;
  /** First-part channel count (channel mask) or the [1,H,W,1] 0/1 mask (checkerboard). */
  private readonly split: number;
  private readonly mask: tf.Tensor4D | null;

  constructor(
    scope: ParamScope,
    shape: [number, number, number],
    private readonly opts: CouplingOptions,
    rng: Rng,
  ) {
    const [h, w, c] = shape;
    if (opts.mask === 'channel') {
      if (c < 2) throw new Error(`a channel coupling needs at least 2 channels, got ${c}`);
      this.split = Math.ceil(c / 2);
      this.mask = null;
      const condition = opts.flip ? c - this.split : this.split;
      const transformed = c - condition;
      const outChannels = opts.kind === 'affine' ? 2 * transformed : transformed;
      this.net = new CouplingNet(scope.child('net'), condition, opts.hidden, outChannels, opts.net, rng);
    } else {
      this.split = 0;
      const m = new Float32Array(h * w);
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) m[i * w + j] = (i + j + (opts.flip ? 1 : 0)) % 2;
      this.mask = tf.keep(tf.tensor4d(m, [1, h, w, 1]));
      const outChannels = opts.kind === 'affine' ? 2 * c : c;
      this.net = new CouplingNet(scope.child('net'), c, opts.hidden, outChannels, opts.net, rng);
    }
  }

  forward(x: tf.Tensor4D, logdet: tf.Tensor1D): [tf.Tensor4D, tf.Tensor1D] {
    return tf.tidy(() => {
      const { out, logScale } = this.run(x, false);
      return [out, logScale ? (tf.add(logdet, logScale) as tf.Tensor1D) : logdet];
    });
  }

  inverse(y: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.run(y, true).out);
  }

  /** The transformed tensor and, for an affine forward pass, the summed log-scale per example. */
  private run(input: tf.Tensor4D, inverse: boolean): { out: tf.Tensor4D; logScale: tf.Tensor1D | null } {
    const { condition, target, join } = this.parts(input);
    const h = this.net.apply(condition);
    const channels = target.shape[3];
    if (this.opts.kind === 'additive') {
      return { out: join((inverse ? tf.sub(target, h) : tf.add(target, h)) as tf.Tensor4D), logScale: null };
    }
    const shift = tf.slice(h, [0, 0, 0, 0], [-1, -1, -1, channels]);
    const raw = tf.add(tf.slice(h, [0, 0, 0, channels], [-1, -1, -1, channels]), SCALE_OFFSET);
    // softplus(-raw) = -log sigmoid(raw); not tf.logSigmoid: its gradient reads an input that tf.tidy has freed.
    const minusLogScale = tf.softplus(tf.neg(raw));
    if (inverse) return { out: join(tf.sub(tf.mul(target, tf.exp(minusLogScale)), shift) as tf.Tensor4D), logScale: null };
    let logScale = tf.neg(minusLogScale);
    const out = join(tf.mul(tf.add(target, shift), tf.exp(logScale)) as tf.Tensor4D);
    if (this.mask) logScale = tf.mul(logScale, tf.sub(1, this.mask));
    return { out, logScale: tf.sum(logScale, [1, 2, 3]) as tf.Tensor1D };
  }

  /**
   * The conditioning input, the part to transform and how to put the result back. For a
   * checkerboard the "target" is the whole tensor; the join keeps the masked pixels as they were.
   */
  private parts(x: tf.Tensor4D): { condition: tf.Tensor4D; target: tf.Tensor4D; join: (t: tf.Tensor4D) => tf.Tensor4D } {
    if (this.mask) {
      const mask = this.mask;
      const condition = tf.mul(x, mask) as tf.Tensor4D;
      return { condition, target: x, join: (t) => tf.add(condition, tf.mul(t, tf.sub(1, mask))) as tf.Tensor4D };
    }
    const c = x.shape[3];
    const first = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, this.split]) as tf.Tensor4D;
    const second = tf.slice(x, [0, 0, 0, this.split], [-1, -1, -1, c - this.split]) as tf.Tensor4D;
    if (this.opts.flip) return { condition: second, target: first, join: (t) => tf.concat([t, second], 3) };
    return { condition: first, target: second, join: (t) => tf.concat([first, t], 3) };
  }
}
