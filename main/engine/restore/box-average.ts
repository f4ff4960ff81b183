// Super-resolution's observation: y = the mean of each factor x factor block of x, per channel
// (NHWC images), its lift back to full size, and the projection that keeps a sample on it exactly.
import { UPSCALE_FACTORS } from '../../../common/restore-fields.ts';
import { ConfigError } from '../errors.ts';

/** Images of `size` x `size` x `channels` values (NHWC), `n` of them, seen at 1/`factor` of their side. */
export interface BoxLayout {
  n: number;
  size: number;
  channels: number;
  factor: number;
}

/** Refuses a factor that does not divide the side, naming both and the factors that would. */
export function checkFactor(size: number, factor: number): void {
  if (Number.isInteger(factor) && factor >= 2 && size % factor === 0) return;
  const fits = UPSCALE_FACTORS.filter((f) => size % f === 0);
  const advice = fits.length > 0 ? `use ${fits.join(' or ')}` : `no factor of ${UPSCALE_FACTORS.join(' or ')} divides it`;
  throw new ConfigError('BAD_CONFIG', `factor ${factor} does not divide the model's image size ${size} x ${size}: ${advice}.`);
}

/** The box average of every block: [n, size, size, C] -> [n, size/f, size/f, C]. */
export function downsampleBox(x: ArrayLike<number>, { n, size, channels, factor }: BoxLayout): Float64Array {
  const small = size / factor;
  const out = new Float64Array(n * small * small * channels);
  const weight = 1 / (factor * factor);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < size; y++) {
      for (let x0 = 0; x0 < size; x0++) {
        const from = ((i * size + y) * size + x0) * channels;
        const to = ((i * small + Math.floor(y / factor)) * small + Math.floor(x0 / factor)) * channels;
        for (let c = 0; c < channels; c++) out[to + c] += x[from + c] * weight;
      }
    }
  }
  return out;
}

/** Each small pixel repeated over its block: the simplest image whose box average is `y`. */
export function upsampleNearest(y: ArrayLike<number>, { n, size, channels, factor }: BoxLayout): Float64Array {
  const small = size / factor;
  const out = new Float64Array(n * size * size * channels);
  for (let i = 0; i < n; i++) {
    for (let row = 0; row < size; row++) {
      for (let col = 0; col < size; col++) {
        const to = ((i * size + row) * size + col) * channels;
        const from = ((i * small + Math.floor(row / factor)) * small + Math.floor(col / factor)) * channels;
        for (let c = 0; c < channels; c++) out[to + c] = y[from + c];
      }
    }
  }
  return out;
}

/** Bisection steps that place a block's shift: 2^-60 of the image range, far below float32's resolution. */
const BISECTIONS = 60;

/**
 * The nearest image to `x` (in place; `n` images, each matched to the one small image `y`) whose
 * values lie in [low, high] and whose box averages equal `y`: per block and channel, the values
 * shifted by the one τ with mean(clip(v + τ)) = y (the Euclidean projection onto that set; the
 * mean is monotone in τ, so bisection finds it where clipping bites, and τ = y - mean(v) where it does not).
 */
export function projectOntoBoxAverage(x: Float64Array, y: ArrayLike<number>, layout: BoxLayout, low: number, high: number): void {
  const { n, size, channels, factor } = layout;
  const small = size / factor;
  const values = new Float64Array(factor * factor);
  const at = new Int32Array(factor * factor);
  const meanAt = (tau: number) => values.reduce((s, v) => s + Math.min(high, Math.max(low, v + tau)), 0) / values.length;
  for (let i = 0; i < n; i++) {
    for (let by = 0; by < small; by++) {
      for (let bx = 0; bx < small; bx++) {
        for (let c = 0; c < channels; c++) {
          let k = 0;
          for (let dy = 0; dy < factor; dy++) {
            for (let dx = 0; dx < factor; dx++) {
              at[k] = ((i * size + by * factor + dy) * size + bx * factor + dx) * channels + c;
              values[k] = x[at[k]];
              k++;
            }
          }
          const target = Math.min(high, Math.max(low, y[(by * small + bx) * channels + c]));
          let tau = target - values.reduce((s, v) => s + v, 0) / values.length;
          if (values.some((v) => v + tau < low || v + tau > high)) {
            let below = low - Math.max(...values);
            let above = high - Math.min(...values);
            for (let step = 0; step < BISECTIONS; step++) {
              tau = (below + above) / 2;
              if (meanAt(tau) < target) below = tau;
              else above = tau;
            }
            tau = (below + above) / 2;
          }
          for (let j = 0; j < values.length; j++) x[at[j]] = Math.min(high, Math.max(low, values[j] + tau));
        }
      }
    }
  }
}
