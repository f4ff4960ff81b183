// Bicubic upscaling of NHWC images by a whole factor: super-resolution's baseline and its sampler's
// start. Keys' cubic convolution with a = -0.5 (PIL's and Matlab's imresize's bicubic), pixel centres aligned, edges clamped.

const A = -0.5;

/** Keys' cubic convolution kernel at distance t. */
function cubic(t: number): number {
  const s = Math.abs(t);
  if (s <= 1) return ((A + 2) * s - (A + 3)) * s * s + 1;
  if (s < 2) return ((A * s - 5 * A) * s + 8 * A) * s - 4 * A;
  return 0;
}

/** For each output index, the four source indices (clamped) and their weights. */
function taps(small: number, factor: number): { index: Int32Array; weight: Float64Array } {
  const size = small * factor;
  const index = new Int32Array(size * 4);
  const weight = new Float64Array(size * 4);
  for (let o = 0; o < size; o++) {
    const src = (o + 0.5) / factor - 0.5;
    const base = Math.floor(src);
    for (let k = 0; k < 4; k++) {
      const i = base - 1 + k;
      index[o * 4 + k] = Math.min(small - 1, Math.max(0, i));
      weight[o * 4 + k] = cubic(src - i);
    }
  }
  return { index, weight };
}

/** `n` images of `small` x `small` x `channels` upscaled `factor` times (rows, then columns). */
export function upscaleBicubic(y: ArrayLike<number>, n: number, small: number, channels: number, factor: number): Float64Array {
  const size = small * factor;
  const { index, weight } = taps(small, factor);
  const rows = new Float64Array(size * small * channels);
  const out = new Float64Array(n * size * size * channels);
  for (let i = 0; i < n; i++) {
    const image = i * small * small * channels;
    rows.fill(0);
    for (let r = 0; r < size; r++) {
      for (let k = 0; k < 4; k++) {
        const from = image + index[r * 4 + k] * small * channels;
        const w = weight[r * 4 + k];
        for (let j = 0; j < small * channels; j++) rows[r * small * channels + j] += w * y[from + j];
      }
    }
    for (let r = 0; r < size; r++) {
      for (let col = 0; col < size; col++) {
        const to = ((i * size + r) * size + col) * channels;
        for (let k = 0; k < 4; k++) {
          const from = (r * small + index[col * 4 + k]) * channels;
          const w = weight[col * 4 + k];
          for (let c = 0; c < channels; c++) out[to + c] += w * rows[from + c];
        }
      }
    }
  }
  return out;
}
