// Moves every trainable parameter away from its (often identity) initial value, so tests of
// invertibility and log-determinants exercise real, non-trivial maps.
import * as tf from '../../main/engine/tf.ts';
import type { ParamStore } from '../../main/engine/flows/params.ts';
import { Rng } from '../../main/engine/random.ts';

export function perturb(params: ParamStore, scale = 0.1, seed = 7): void {
  const rng = new Rng(seed);
  tf.tidy(() => {
    for (const v of params.variables.values()) {
      const noise = tf.tensor(rng.fillNormal(new Float32Array(v.size), scale), v.shape);
      v.assign(tf.add(v, noise));
    }
  });
}

/**
 * Puts a flow's last affine coupling in the far tail of its scale: its network starts at zero, so
 * its output is its last bias; the scale half is set to `raw`, and sigmoid(raw + 2) (~1.1e-7 at
 * -18) scales every value it transforms. Returns the bias's name.
 */
export function couplingScaleInTail(params: ParamStore, raw = -18): string {
  const [name, bias] = [...params.variables].filter(([n]) => /coupling\.net\.conv3\.bias$/.test(n)).at(-1)!;
  const half = bias.size / 2;
  bias.assign(tf.tensor1d(Array.from({ length: bias.size }, (_, i) => (i < half ? 0.1 : raw))));
  return name;
}

/** A seeded standard-normal input of the given shape. */
export function randomInput(shape: [number, number, number, number], seed = 1, std = 0.5): tf.Tensor4D {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(new Rng(seed).fillNormal(new Float32Array(size), std), shape);
}
