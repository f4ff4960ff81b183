// Coupling layers: half of the input (by channel or by checkerboard) conditions a network that
// maps the other half. Affine: b' = (b + shift) * sigmoid(raw + 2); additive (NICE): b' = b +
// shift; spline: the Lab's rational-quadratic spline on each value (Durkan et al. 2019), its
// 3K-1 parameters per value from the network. Channel masks split channels; checkerboard masks
// alternate pixels. A restoration-trained flow's couplings also see the observation's features,
// concatenated to the conditioning half (SRFlow's conditional coupling): invertible for any fixed observation.
// The scale is applied as exp(log scale), log scale = -softplus(-(raw + 2)), both ways: the
// inverse multiplies by exp(softplus(-(raw + 2))) rather than dividing by a sigmoid, which
// keeps its relative precision where the scale is ~1e-7 (a sigmoid there is off by its absolute
// error; onnxruntime's by 47% at -16) and gives tfjs and the traced graphs the same maths.
import * as tf from '../tf.ts';
import { IMAGE_SPLINE } from '../../../common/settings/model-fields.ts';
import type { ElementwiseTransform } from '../lab/elementwise.ts';
import { splineTransform } from '../lab/transforms/spline.ts';
import type { Rng } from '../random.ts';
import { CouplingNet, type NetNorm } from './coupling-net.ts';
import type { FlowLayer } from './flow-layer.ts';
import type { ParamScope } from './params.ts';

/** What a coupling does to the transformed half: Glow's and RealNVP's settings of these names. */
export interface CouplingMap {
  /** 'affine' scales and shifts; 'additive' only shifts (volume preserving); 'spline' maps each value by a spline. */
  coupling: 'affine' | 'additive' | 'spline';
  /** The spline's bins K ('spline' only). */
  bins: number;
  /** The spline acts on [-tailBound, tailBound] and is the identity outside ('spline' only). */
  tailBound: number;
}

/** Numbers the coupling network gives for each transformed value. */
export function netOutputsPerValue(map: CouplingMap): number {
  if (map.coupling === 'spline') return splineOf(map).paramsPerDim;
  return map.coupling === 'affine' ? 2 : 1;
}

function splineOf(map: CouplingMap): ElementwiseTransform {
  return splineTransform({ spline: IMAGE_SPLINE, bins: map.bins, tailBound: map.tailBound });
}

export interface CouplingOptions {
  /** The map of the transformed half. */
  map: CouplingMap;
  /** Which half conditions: channels split in two, or a spatial checkerboard. */
  mask: 'channel' | 'checkerboard';
  /** Swap the roles of the two halves (alternate layers set it to cover both). */
  flip: boolean;
  /** Width of the coupling network. */
  hidden: number;
  /** What follows the network's hidden convolutions. */
  net: NetNorm;
  /** Channels of the observation's features the network also sees (0 or absent: none). */
  observed?: number;
}

/** sigmoid(raw + 2) starts near 0.88, a gentle scale; the offset is Glow's. */
const SCALE_OFFSET = 2;

export class Coupling implements FlowLayer {
  private readonly net: CouplingNet;
  /** First-part channel count (channel mask) or the [1,H,W,1] 0/1 mask (checkerboard). */
  private readonly split: number;
  private readonly mask: tf.Tensor4D | null;
  /** The spline of a spline coupling. */
  private readonly spline: ElementwiseTransform | null;

  constructor(
    scope: ParamScope,
    shape: [number, number, number],
    private readonly opts: CouplingOptions,
    rng: Rng,
  ) {
    const [h, w, c] = shape;
    const perValue = netOutputsPerValue(opts.map);
    this.spline = opts.map.coupling === 'spline' ? splineOf(opts.map) : null;
    if (opts.mask === 'channel') {
      if (c < 2) throw new Error(`a channel coupling needs at least 2 channels, got ${c}`);
      this.split = Math.ceil(c / 2);
      this.mask = null;
      const condition = opts.flip ? c - this.split : this.split;
      this.net = new CouplingNet(scope.child('net'), condition + (opts.observed ?? 0), opts.hidden, perValue * (c - condition), opts.net, rng);
    } else {
      this.split = 0;
      const m = new Float32Array(h * w);
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) m[i * w + j] = (i + j + (opts.flip ? 1 : 0)) % 2;
      this.mask = tf.keep(tf.tensor4d(m, [1, h, w, 1]));
      this.net = new CouplingNet(scope.child('net'), c + (opts.observed ?? 0), opts.hidden, perValue * c, opts.net, rng);
    }
  }

  forward(x: tf.Tensor4D, logdet: tf.Tensor1D, features?: tf.Tensor4D): [tf.Tensor4D, tf.Tensor1D] {
    return tf.tidy(() => {
      const { out, logDet } = this.run(x, false, features);
      return [out, logDet ? (tf.add(logdet, logDet) as tf.Tensor1D) : logdet];
    });
  }

  inverse(y: tf.Tensor4D, features?: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.run(y, true, features).out);
  }

  /** The network's input: the conditioning half, and the observation's features where the coupling sees them. */
  private netInput(condition: tf.Tensor4D, features: tf.Tensor4D | undefined): tf.Tensor4D {
    if (!this.opts.observed) return condition;
    if (!features) throw new Error('a restoration-trained coupling needs the observation\'s features');
    return tf.concat([condition, features], 3) as tf.Tensor4D;
  }

  /** The transformed tensor and, for a forward pass that changes volume, its log-determinant per example. */
  private run(input: tf.Tensor4D, inverse: boolean, features: tf.Tensor4D | undefined): { out: tf.Tensor4D; logDet: tf.Tensor1D | null } {
    const { condition, target, join } = this.parts(input);
    const h = this.net.apply(this.netInput(condition, features));
    if (this.spline) return this.splineMap(this.spline, target, h, join, inverse);
    const channels = target.shape[3];
    if (this.opts.map.coupling === 'additive') {
      return { out: join((inverse ? tf.sub(target, h) : tf.add(target, h)) as tf.Tensor4D), logDet: null };
    }
    const shift = tf.slice(h, [0, 0, 0, 0], [-1, -1, -1, channels]);
    const raw = tf.add(tf.slice(h, [0, 0, 0, channels], [-1, -1, -1, channels]), SCALE_OFFSET);
    // softplus(-raw) = -log sigmoid(raw); not tf.logSigmoid: its gradient reads an input that tf.tidy has freed.
    const minusLogScale = tf.softplus(tf.neg(raw));
    if (inverse) return { out: join(tf.sub(tf.mul(target, tf.exp(minusLogScale)), shift) as tf.Tensor4D), logDet: null };
    let logScale = tf.neg(minusLogScale);
    const out = join(tf.mul(tf.add(target, shift), tf.exp(logScale)) as tf.Tensor4D);
    if (this.mask) logScale = tf.mul(logScale, tf.sub(1, this.mask));
    return { out, logDet: tf.sum(logScale, [1, 2, 3]) as tf.Tensor1D };
  }

  /**
   * The spline on every value of `target` [N, H, W, C] as rows [N, H*W*C] with parameters
   * [N, H*W*C, 3K-1] (the network's channel c*P + p is value c's parameter p), so the Lab's
   * transform serves images unchanged. A checkerboard's kept pixels are moved past the tail
   * bound first, where the spline is the identity with log-slope exactly 0: only the
   * transformed half counts in the log-determinant, and the join drops those pixels anyway.
   */
  private splineMap(
    spline: ElementwiseTransform,
    target: tf.Tensor4D,
    h: tf.Tensor4D,
    join: (t: tf.Tensor4D) => tf.Tensor4D,
    inverse: boolean,
  ): { out: tf.Tensor4D; logDet: tf.Tensor1D | null } {
    const [n, height, width, channels] = target.shape;
    const values = height * width * channels;
    const parked = this.mask ? tf.add(tf.mul(target, tf.sub(1, this.mask)), tf.mul(this.mask, 2 * this.opts.map.tailBound)) : target;
    const rows = tf.reshape(parked, [n, values]) as tf.Tensor2D;
    const params = tf.reshape(h, [n, values, spline.paramsPerDim]) as tf.Tensor3D;
    const { out, logDet } = inverse ? spline.inverse(rows, params) : spline.forward(rows, params);
    return { out: join(tf.reshape(out, target.shape) as tf.Tensor4D), logDet: inverse ? null : logDet };
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
