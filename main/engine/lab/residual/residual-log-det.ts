// log|det(I + J)| of a residual block's Jacobian, the three ways Residual Flows (Chen et al. 2019)
// offers: exact from the whole Jacobian, a truncated power series, and the unbiased Russian roulette.
import * as tf from '../../tf.ts';
import type { Rng } from '../../random.ts';
import { jacobian, type JacobianVectorProduct } from '../trace.ts';

/** The roulette's chance of computing one more term (Residual Flows' geometric distribution, p = 0.5). */
export const ROULETTE_CONTINUE = 0.5;

/**
 * log|det(I + J)| per row, exact, with gradients: I + J from D products, then Gaussian elimination
 * in tf ops. It needs no pivoting: with ‖J‖₂ < 1 every leading block of I + J is I plus a
 * contraction, so every pivot is positive.
 */
export function exactLogDet(jvp: JacobianVectorProduct, n: number, dim: number): tf.Tensor1D {
  return tf.tidy(() => {
    let m: tf.Tensor3D = tf.add(jacobian(jvp, n, dim), tf.eye(dim));
    let logDet = tf.zeros([n]) as tf.Tensor1D;
    for (let size = dim; size >= 1; size--) {
      const pivot = tf.slice(m, [0, 0, 0], [n, 1, 1]);
      logDet = tf.add(logDet, tf.log(tf.abs(tf.reshape(pivot, [n]))));
      if (size === 1) break;
      const row = tf.slice(m, [0, 0, 1], [n, 1, size - 1]);
      const column = tf.div(tf.slice(m, [0, 1, 0], [n, size - 1, 1]), pivot);
      m = tf.sub(tf.slice(m, [0, 1, 1], [n, size - 1, size - 1]), tf.mul(column, row));
    }
    return logDet;
  });
}

/**
 * The power series log det(I + J) = Σ_k (-1)^(k+1)/k tr(J^k), truncated after `terms` terms, each
 * trace by Hutchinson's εᵀJ^kε with one probe per row (J^kε by k products): unbiased for the
 * truncated series, biased for log det by the terms left out.
 */
export function powerSeriesLogDet(jvp: JacobianVectorProduct, probe: tf.Tensor2D, terms: number): tf.Tensor1D {
  return weightedSeries(jvp, probe, terms, () => 1);
}

/**
 * The Russian-roulette estimator: the first `sureTerms` terms always, then N ≥ 1 more with
 * P(N ≥ j) = ROULETTE_CONTINUE^(j-1) (one draw for the batch), term sureTerms + j weighted by
 * 1/P(N ≥ j). Its mean over the draws and probes is log det(I + J) itself, not a truncation.
 */
export function rouletteLogDet(jvp: JacobianVectorProduct, probe: tf.Tensor2D, sureTerms: number, rng: Rng): tf.Tensor1D {
  let extra = 1;
  while (rng.next() < ROULETTE_CONTINUE) extra++;
  return weightedSeries(jvp, probe, sureTerms + extra, (k) => (k <= sureTerms ? 1 : ROULETTE_CONTINUE ** -(k - sureTerms - 1)));
}

/** Σ_{k=1..terms} (-1)^(k+1)/k · weight(k) · εᵀJ^kε per row. */
function weightedSeries(jvp: JacobianVectorProduct, probe: tf.Tensor2D, terms: number, weight: (k: number) => number): tf.Tensor1D {
  return tf.tidy(() => {
    let power = probe;
    let sum = tf.zeros([probe.shape[0]]) as tf.Tensor1D;
    for (let k = 1; k <= terms; k++) {
      power = jvp(power);
      const coefficient = ((k % 2 === 1 ? 1 : -1) / k) * weight(k);
      sum = tf.add(sum, tf.mul(tf.sum(tf.mul(probe, power), 1), coefficient));
    }
    return sum;
  });
}
