// The named energies U of reverse-KL training (density exp(-U)/Z): Rezende & Mohamed's (2015,
// table 1) U1-U4 and a Gaussian mixture, as tf functions of [n, 2] points, with the box each lives on.
import * as tf from '../../tf.ts';
import type { LabEnergyName } from '../../../../common/lab/lab-catalog.ts';
import { PLANE_BOUNDS, type Bounds } from './target.ts';

export type EnergyFn = (z: tf.Tensor2D) => tf.Tensor1D;

export interface EnergyDef {
  readonly u: EnergyFn;
  /** The box a heatmap shows; log Z integrates over it widened by LOG_Z_MARGIN. */
  readonly bounds: Bounds;
}

/**
 * Scale of the quadratic wall ½(max(|z_i| - b, 0)/0.1)² added outside the box on coordinates an
 * energy does not confine itself (Rezende & Mohamed's U2-U4 leave z1 free, so exp(-U) is not
 * integrable on the plane; their figures show [-4, 4]²). One unit past the box the wall is 50
 * nats: the density there is nil, and gradients lead back in.
 */
export const WALL_SCALE = 0.1;

/** z[:, k] as [n]. */
export function column(z: tf.Tensor2D, k: number): tf.Tensor1D {
  return tf.squeeze(tf.slice(z, [0, k], [-1, 1]), [1]);
}

/** ½(max(|v| - bound, 0)/WALL_SCALE)²: zero inside [-bound, bound]. */
export function wall(v: tf.Tensor1D, bound: number): tf.Tensor1D {
  return tf.tidy(() => tf.mul(0.5, tf.square(tf.div(tf.relu(tf.sub(tf.abs(v), bound)), WALL_SCALE))));
}

/** -log(exp(-a) + exp(-b)), stably. */
function softMin(a: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor1D {
  return tf.neg(tf.logSumExp(tf.stack([tf.neg(a), tf.neg(b)], 1), 1)) as tf.Tensor1D;
}

const halfSquare = (v: tf.Tensor1D, scale: number): tf.Tensor1D => tf.mul(0.5, tf.square(tf.div(v, scale)));

const w1 = (z1: tf.Tensor1D): tf.Tensor1D => tf.sin(tf.mul<tf.Tensor1D>(z1, Math.PI / 2));
const w2 = (z1: tf.Tensor1D): tf.Tensor1D => tf.mul(3, tf.exp(tf.neg(halfSquare(tf.sub(z1, 1), 0.6))));
const w3 = (z1: tf.Tensor1D): tf.Tensor1D => tf.mul(3, tf.sigmoid(tf.div(tf.sub(z1, 1), 0.3)));

/** U1 = ½((‖z‖ - 2)/0.4)² - log(exp(-½((z1 - 2)/0.6)²) + exp(-½((z1 + 2)/0.6)²)). */
function u1(z: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const z1 = column(z, 0);
    // ‖z‖ with a tiny floor under the root, so the gradient at the origin is 0, not NaN.
    const radius = tf.sqrt(tf.add(tf.sum(tf.square(z), 1), 1e-12)) as tf.Tensor1D;
    const ring = halfSquare(tf.sub(radius, 2), 0.4);
    return tf.add(ring, softMin(halfSquare(tf.sub(z1, 2), 0.6), halfSquare(tf.add(z1, 2), 0.6)));
  });
}

/** Rezende & Mohamed's U2-U4 depend on z1 only through w1..w3; the wall confines z1 to [-4, 4]. */
function walled(u: (z1: tf.Tensor1D, z2: tf.Tensor1D) => tf.Tensor1D): EnergyFn {
  return (z) => tf.tidy(() => {
    const z1 = column(z, 0);
    return tf.add(u(z1, column(z, 1)), wall(z1, 4));
  });
}

/** U2 = ½((z2 - w1)/0.4)². */
const u2 = walled((z1, z2) => halfSquare(tf.sub(z2, w1(z1)), 0.4));

/** U3 = -log(exp(-½((z2 - w1)/0.35)²) + exp(-½((z2 - w1 + w2)/0.35)²)). */
const u3 = walled((z1, z2) => {
  const d = tf.sub<tf.Tensor1D>(z2, w1(z1));
  return softMin(halfSquare(d, 0.35), halfSquare(tf.add(d, w2(z1)), 0.35));
});

/** U4 = -log(exp(-½((z2 - w1)/0.4)²) + exp(-½((z2 - w1 + w3)/0.35)²)). */
const u4 = walled((z1, z2) => {
  const d = tf.sub<tf.Tensor1D>(z2, w1(z1));
  return softMin(halfSquare(d, 0.4), halfSquare(tf.add(d, w3(z1)), 0.35));
});

/**
 * The Gaussian-mixture energy: U = -log p with p a normalised mixture (so log Z = 0, which the
 * grid reproduces), three unequal, well-separated modes that show reverse KL's mode seeking.
 */
export const MIXTURE = {
  weights: [0.5, 0.3, 0.2],
  means: [[-2, 0], [2, 1.5], [1.5, -2]],
  std: 0.6,
} as const;

function mixture(z: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const { weights, means, std } = MIXTURE;
    const logNorm = -Math.log(2 * Math.PI * std * std);
    const terms = means.map(([mx, my], k) => {
      const d2 = tf.sum(tf.square(tf.sub(z, tf.tensor1d([mx, my]))), 1);
      return tf.sub(Math.log(weights[k]) + logNorm, tf.div(d2, 2 * std * std));
    });
    return tf.neg(tf.logSumExp(tf.stack(terms, 1), 1)) as tf.Tensor1D;
  });
}

export const ENERGIES: Readonly<Record<LabEnergyName, EnergyDef>> = {
  u1: { u: u1, bounds: PLANE_BOUNDS },
  u2: { u: u2, bounds: PLANE_BOUNDS },
  u3: { u: u3, bounds: PLANE_BOUNDS },
  // U4's second branch reaches z2 = w1 - w3 = -4 near z1 = 3, so its box reaches lower.
  u4: { u: u4, bounds: [[-4, 4], [-5.5, 2.5]] },
  mixture: { u: mixture, bounds: PLANE_BOUNDS },
};
