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

/** A seeded standard-normal input of the given shape. */
export function randomInput(shape: [number, number, number, number], seed = 1, std = 0.5): tf.Tensor4D {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(new Rng(seed).fillNormal(new Float32Array(size), std), shape);
}
