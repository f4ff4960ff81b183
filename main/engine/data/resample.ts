// Centre crop to a square and resize by area: each output pixel is the mean of the source area
// it covers (fractional pixels weighted by their share), one axis at a time. Down it is a box
// filter, as libvips shrinks; up it mixes the few source pixels an output pixel overlaps.

/** Per output index, the source indices it covers and their weights (summing to 1). */
function areaWeights(from: number, length: number, size: number): { index: number[]; weight: number[] }[] {
  const step = length / size;
  return Array.from({ length: size }, (_, o) => {
    const start = from + o * step;
    const end = start + step;
    const index: number[] = [];
    const weight: number[] = [];
    for (let i = Math.floor(start); i < end; i++) {
      const overlap = Math.min(end, i + 1) - Math.max(start, i);
      if (overlap > 0) {
        index.push(i);
        weight.push(overlap / step);
      }
    }
    return { index, weight };
  });
}

/**
 * The centre square of a width x height x channels uint8 image (HWC), resized to size x size by
 * area. An image already square and of the size comes back as it is (the same array).
 */
export function centreSquareByArea(pixels: Uint8Array, width: number, height: number, channels: number, size: number): Uint8Array {
  if (width === size && height === size) return pixels;
  const side = Math.min(width, height);
  const xs = areaWeights((width - side) / 2, side, size);
  const ys = areaWeights((height - side) / 2, side, size);
  // Columns first, over the rows the crop keeps: [rows of the source, size, channels].
  const rowsFrom = Math.floor((height - side) / 2);
  const rowsTo = Math.ceil((height + side) / 2);
  const across = new Float32Array((rowsTo - rowsFrom) * size * channels);
  for (let y = rowsFrom; y < rowsTo; y++) {
    for (let o = 0; o < size; o++) {
      const { index, weight } = xs[o];
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = 0; k < index.length; k++) sum += weight[k] * pixels[(y * width + index[k]) * channels + c];
        across[((y - rowsFrom) * size + o) * channels + c] = sum;
      }
    }
  }
  const out = new Uint8Array(size * size * channels);
  const row = size * channels;
  for (let o = 0; o < size; o++) {
    const { index, weight } = ys[o];
    for (let i = 0; i < row; i++) {
      let sum = 0;
      for (let k = 0; k < index.length; k++) sum += weight[k] * across[(index[k] - rowsFrom) * row + i];
      out[o * row + i] = Math.min(255, Math.max(0, Math.round(sum)));
    }
  }
  return out;
}
