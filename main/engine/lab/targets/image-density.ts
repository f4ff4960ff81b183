// An image as a density: brightness proportional to density on a box, so samples pick a pixel
// in proportion to its brightness and then a uniform point inside it; the log-density is exact.
import { ConfigError } from '../../errors.ts';
import type { Rng } from '../../random.ts';
import type { Target } from './target.ts';

/** The image's longer side spans [-HALF_SPAN, HALF_SPAN]; the other keeps the aspect ratio, centred. */
export const IMAGE_HALF_SPAN = 4;
export const MAX_IMAGE_SIDE = 4096;

function checkImage(width: number, height: number, pixels: readonly number[]): void {
  for (const [name, side] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(side) || side < 1 || side > MAX_IMAGE_SIDE) {
      throw new ConfigError('BAD_ARGUMENT', `Image density: ${name} ${side} must be a whole number from 1 to ${MAX_IMAGE_SIDE}.`);
    }
  }
  if (!Array.isArray(pixels) || pixels.length !== width * height) {
    throw new ConfigError('BAD_ARGUMENT', `Image density: ${width}x${height} needs ${width * height} brightness values, got ${Array.isArray(pixels) ? pixels.length : 'none'}.`);
  }
  const bad = pixels.findIndex((b) => !(b >= 0 && b <= 1));
  if (bad >= 0) {
    throw new ConfigError('BAD_ARGUMENT', `Image density: pixel ${bad} (row ${Math.floor(bad / width)}, column ${bad % width}) has brightness outside 0..1.`);
  }
  if (!pixels.some((b) => b > 0)) throw new ConfigError('BAD_ARGUMENT', 'Image density: the image is black everywhere; a density needs some bright pixels.');
}

/**
 * Uniform on [0, 1) kept 1e-4 away from the pixel's edges, so the float32 point cannot round into
 * a neighbour (possibly black, where the log-density is -Infinity); it moves 2e-4 of the mass by 1e-4 pixel.
 */
function inPixel(rng: Rng): number {
  return 1e-4 + rng.next() * (1 - 2e-4);
}

/** `pixels` are row-major brightness in 0..1, row 0 at the top (largest y). */
export function imageTarget(width: number, height: number, pixels: readonly number[]): Target {
  checkImage(width, height, pixels);
  const side = (2 * IMAGE_HALF_SPAN) / Math.max(width, height);
  const x0 = (-width * side) / 2;
  const yTop = (height * side) / 2;
  const cumulative = new Float64Array(pixels.length);
  let total = 0;
  pixels.forEach((b, i) => {
    total += b;
    cumulative[i] = total;
  });
  const logNorm = -Math.log(total * side * side);
  return {
    kind: 'samples',
    dim: 2,
    label: `Image (${width}x${height})`,
    bounds: [[x0, -x0], [-yTop, yTop]],
    sample(n: number, rng: Rng): Float32Array {
      const out = new Float32Array(2 * n);
      for (let i = 0; i < n; i++) {
        // The first pixel whose cumulative brightness exceeds u: zero-brightness pixels are never chosen.
        const u = rng.next() * total;
        let lo = 0;
        let hi = cumulative.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cumulative[mid] > u) hi = mid;
          else lo = mid + 1;
        }
        const row = Math.floor(lo / width);
        const col = lo % width;
        out[2 * i] = x0 + (col + inPixel(rng)) * side;
        out[2 * i + 1] = yTop - (row + inPixel(rng)) * side;
      }
      return out;
    },
    logDensity(points: ArrayLike<number>): Float64Array {
      const out = new Float64Array(points.length / 2);
      for (let i = 0; i < out.length; i++) {
        const col = Math.floor((points[2 * i] - x0) / side);
        const row = Math.floor((yTop - points[2 * i + 1]) / side);
        const inside = col >= 0 && col < width && row >= 0 && row < height;
        out[i] = inside ? Math.log(pixels[row * width + col]) + logNorm : -Infinity;
      }
      return out;
    },
  };
}
