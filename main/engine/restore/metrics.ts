// How close a restoration is to the original and how much its candidates differ, on 8-bit pixels
// (HWC): PSNR, SSIM (Wang et al. 2004) and diversity (mean pairwise RMS distance between candidates).

const PEAK = 255;

/** Peak signal-to-noise ratio in dB of `a` against `b` over all values; Infinity when they are equal. */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) throw new RangeError(`PSNR compares images of one size; got ${a.length} and ${b.length} values.`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  const mse = sum / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((PEAK * PEAK) / mse);
}

/** Side and spread of SSIM's Gaussian window (Wang et al. 2004). */
const WINDOW = 11;
const SIGMA = 1.5;
const C1 = (0.01 * PEAK) ** 2;
const C2 = (0.03 * PEAK) ** 2;

/** The normalised 1-D Gaussian window; an image under 11 pixels gets the largest odd side it holds. */
function gaussianWindow(size: number): Float64Array {
  const side = Math.min(WINDOW, size % 2 === 1 ? size : size - 1);
  const half = (side - 1) / 2;
  const w = Float64Array.from({ length: side }, (_, i) => Math.exp(-((i - half) ** 2) / (2 * SIGMA * SIGMA)));
  const total = w.reduce((s, v) => s + v, 0);
  return w.map((v) => v / total);
}

/**
 * Mean SSIM of two size x size x channels images on [0, 255]: per channel, the SSIM map over the
 * positions where the 11 x 11 Gaussian window (sigma 1.5) lies inside the image (Wang's ssim.m,
 * 'valid'), K1 = 0.01, K2 = 0.03, averaged over positions and then over channels (so colour
 * images are scored per channel, not on their luminance).
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, size: number, channels: number): number {
  if (a.length !== size * size * channels || b.length !== a.length) throw new RangeError(`SSIM needs two ${size}x${size}x${channels} images; got ${a.length} and ${b.length} values.`);
  const w = gaussianWindow(size);
  const side = w.length;
  const positions = size - side + 1;
  let total = 0;
  for (let c = 0; c < channels; c++) {
    for (let top = 0; top < positions; top++) {
      for (let left = 0; left < positions; left++) {
        let mx = 0;
        let my = 0;
        let xx = 0;
        let yy = 0;
        let xy = 0;
        for (let i = 0; i < side; i++) {
          for (let j = 0; j < side; j++) {
            const k = ((top + i) * size + left + j) * channels + c;
            const weight = w[i] * w[j];
            mx += weight * a[k];
            my += weight * b[k];
            xx += weight * a[k] * a[k];
            yy += weight * b[k] * b[k];
            xy += weight * a[k] * b[k];
          }
        }
        const vx = xx - mx * mx;
        const vy = yy - my * my;
        const cov = xy - mx * my;
        total += ((2 * mx * my + C1) * (2 * cov + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
      }
    }
  }
  return total / (channels * positions * positions);
}

/** Mean RMS distance in grey levels over every pair of the `n` candidates in `images` (n images back to back); null for one. */
export function diversity(images: ArrayLike<number>, n: number): number | null {
  if (n < 2) return null;
  const per = images.length / n;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let sq = 0;
      for (let k = 0; k < per; k++) sq += (images[i * per + k] - images[j * per + k]) ** 2;
      sum += Math.sqrt(sq / per);
    }
  }
  return sum / ((n * (n - 1)) / 2);
}
