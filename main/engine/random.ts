// Seeded random numbers whose whole state is two numbers, so a checkpoint can save it and a
// resumed run draws exactly what an uninterrupted one would (batches, dequantization noise).

/** State of a Rng: a 64-bit splitmix counter kept as two 32-bit halves. */
export interface RngState {
  hi: number;
  lo: number;
}

export class Rng {
  /**
   * The counter's halves, hi then lo. In a typed array: an unsigned 32-bit value of 2^31 or more
   * is no small integer to V8, so as an object field every draw would allocate a heap number
   * (1.5 MB of garbage for a batch's dequantization noise, measured with V8's sampling profiler).
   */
  private readonly halves = new Uint32Array(2);

  constructor(seed: number | RngState = 0) {
    if (typeof seed === 'number') {
      this.halves[0] = Math.floor(seed / 2 ** 32);
      this.halves[1] = seed;
    } else {
      this.halves[0] = seed.hi;
      this.halves[1] = seed.lo;
    }
  }

  get state(): RngState {
    return { hi: this.halves[0], lo: this.halves[1] };
  }

  /** Uniform 32-bit unsigned integer (splitmix32-style mix of an advancing counter). */
  nextUint32(): number {
    const h = this.halves;
    // Advance the 64-bit counter by the golden-ratio increment.
    const lo = (h[1] + 0x9e3779b9) >>> 0;
    const hi = (h[0] + 0x7f4a7c15 + (lo < h[1] ? 1 : 0)) >>> 0;
    h[0] = hi;
    h[1] = lo;
    let z = (lo ^ Math.imul(hi, 0x85ebca6b)) >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller; one value per call keeps the state simple). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fill `out` with uniforms over [offset, offset + scale) (rounding to float32 can give the top itself). */
  fillUniform(out: Float32Array, scale = 1, offset = 0): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.next() * scale + offset;
    return out;
  }

  /** Fill `out` with normals of standard deviation `std`. */
  fillNormal(out: Float32Array, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal() * std;
    return out;
  }

  /** Fisher-Yates shuffle of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
