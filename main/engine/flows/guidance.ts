// Classifier-free guidance (Ho & Salimans 2022) for a network trained with label dropout: its
// prediction u + w (u_c - u) from the unconditional (no class) and the conditional one.
import * as tf from '../tf.ts';

/**
 * How one network call is made under guidance weight w for the class rows `c`: w = 1 (or no
 * class) is the conditional pass alone and w = 0 the unconditional one, so neither costs a second
 * pass; any other w runs the batch twice in one call, without classes then with `c`, and mixes the
 * halves. Make it inside a tidy: it holds the doubled class rows.
 */
export class Guidance {
  /** The class rows the network runs with: `c`, none, or all-zero rows then `c` over the doubled batch. */
  readonly classes: tf.Tensor2D | undefined;
  private readonly doubled: boolean;

  constructor(
    c: tf.Tensor2D | undefined,
    private readonly weight = 1,
  ) {
    if (!Number.isFinite(weight)) throw new RangeError(`guidance: the weight must be a finite number, got ${weight}.`);
    this.doubled = c !== undefined && weight !== 0 && weight !== 1;
    this.classes = this.doubled ? (tf.concat([tf.zerosLike(c!), c!], 0) as tf.Tensor2D) : weight === 0 ? undefined : c;
  }

  /** A per-image input (images, times) as the network takes it: twice over when guiding. */
  input<T extends tf.Tensor>(x: T): T {
    return this.doubled ? (tf.concat([x, x], 0) as T) : x;
  }

  /** The network's output for `input(x)` made into the guided prediction u + w (u_c - u). */
  output<T extends tf.Tensor>(out: T): T {
    if (!this.doubled) return out;
    const [unconditional, conditional] = tf.split(out, 2, 0) as [T, T];
    return tf.add(unconditional, tf.mul(tf.sub(conditional, unconditional), this.weight)) as T;
  }
}
