// Centre crop to a square and resize by area: each output pixel is the mean of the source area
// it covers (fractional pixels weighted by their share), one axis at a time. Down it is a box
// filter, as libvips shrinks; up it mixes the few source pixels an output pixel overlaps.

/** Output pixel o covers source indices first[o] .. first[o] + count[o] - 1 with weight[taps * o + k]. */
interface AreaWeights {
  first: Int32Array;
  count: Int32Array;
  taps: number;
  weight: Float64Array;
}

function areaWeights(from: number, length: number, size: number): AreaWeights {
  const step = length / size;
  const taps = Math.ceil(step) + 1;
  const first = new Int32Array(size);
  const count = new Int32Array(size);
  const weight = new Float64Array(size * taps);
  for (let o = 0; o < size; o++) {
    const start = from + o * step;
    const end = start + step;
    first[o] = -1;
    // Only pixels inside the crop: `end` can pass its edge by a rounding error, and a tap there
    // read past the image (NaN, stored as black) or a neighbour's pixel.
    for (let i = Math.floor(start); i < end && i < from + length; i++) {
      const overlap = Math.min(end, i + 1) - Math.max(start, i);
      if (overlap > 0) {
        if (first[o] < 0) first[o] = i;
        weight[o * taps + count[o]++] = overlap / step;
      }
    }
  }
  return { first, count, taps, weight };
}

/** A folder's images mostly share a shape, so the weights of the last few shapes are kept, not rebuilt per image. */
const remembered = new Map<string, AreaWeights>();
const REMEMBERED_SHAPES = 8;

function weightsFor(from: number, length: number, size: number): AreaWeights {
  const key = `${from} ${length} ${size}`;
  let weights = remembered.get(key);
  if (!weights) {
    if (remembered.size >= REMEMBERED_SHAPES) remembered.delete(remembered.keys().next().value as string);
    weights = areaWeights(from, length, size);
    remembered.set(key, weights);
  }
  return weights;
}

/** Columns-resized rows between the two passes, kept between calls (18 KB for 48 px RGB to 32). */
let between = new Float32Array(0);

/**
 * The centre square of a width x height x channels uint8 image (HWC), resized to size x size by
 * area. An image already square and of the size comes back as it is (the same array).
 */
export function centreSquareByArea(pixels: Uint8Array, width: number, height: number, channels: number, size: number): Uint8Array {
  if (width === size && height === size) return pixels;
  const row = size * channels;
  const into = new Uint8Array(size * row);
  const side = Math.min(width, height);
  const xs = weightsFor((width - side) / 2, side, size);
  const ys = weightsFor((height - side) / 2, side, size);
  // Columns first, over the rows the crop keeps: [rows of the source, size, channels]. Float32 in
  // between, summed in the same order as ever, so the pixels match earlier imports' caches.
  const rowsFrom = Math.floor((height - side) / 2);
  const rowsTo = Math.ceil((height + side) / 2);
  if (between.length < (rowsTo - rowsFrom) * row) between = new Float32Array((rowsTo - rowsFrom) * row);
  const across = between;
  const { first: xFirst, count: xCount, weight: xWeight, taps: xTaps } = xs;
  const stride = width * channels;
  // Output column by output column, its weights held down the rows. Two taps, written out, is
  // every shrink by up to 2 (sharp shrinks anything larger to that): half the time of the loop.
  for (let o = 0; o < size; o++) {
    const taps = xCount[o];
    const w0 = o * xTaps;
    let p0 = rowsFrom * stride + xFirst[o] * channels;
    if (taps === 2) {
      const [a, b] = [xWeight[w0], xWeight[w0 + 1]];
      for (let to = o * channels; p0 < rowsTo * stride; p0 += stride, to += row) {
        for (let c = 0; c < channels; c++) {
          let sum = 0;
          sum += a * pixels[p0 + c];
          sum += b * pixels[p0 + channels + c];
          across[to + c] = sum;
        }
      }
    } else {
      for (let to = o * channels; p0 < rowsTo * stride; p0 += stride, to += row) {
        for (let c = 0; c < channels; c++) {
          let sum = 0;
          for (let k = 0, p = p0 + c; k < taps; k++, p += channels) sum += xWeight[w0 + k] * pixels[p];
          across[to + c] = sum;
        }
      }
    }
  }
  const { first: yFirst, count: yCount, weight: yWeight, taps: yTaps } = ys;
  for (let o = 0; o < size; o++) {
    const taps = yCount[o];
    const w0 = o * yTaps;
    const r0 = (yFirst[o] - rowsFrom) * row;
    const at = o * row;
    if (taps === 2) {
      const [a, b] = [yWeight[w0], yWeight[w0 + 1]];
      for (let i = 0; i < row; i++) {
        let sum = 0;
        sum += a * across[r0 + i];
        sum += b * across[r0 + row + i];
        into[at + i] = Math.min(255, Math.max(0, Math.round(sum)));
      }
    } else {
      for (let i = 0; i < row; i++) {
        let sum = 0;
        for (let k = 0, r = r0 + i; k < taps; k++, r += row) sum += yWeight[w0 + k] * across[r];
        into[at + i] = Math.min(255, Math.max(0, Math.round(sum)));
      }
    }
  }
  return into;
}
