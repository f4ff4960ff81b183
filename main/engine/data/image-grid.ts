// Many small images (NHWC uint8) laid out as one PNG grid with a thin gutter, for sample grids,
// interpolations and reports.
import { dirname } from 'node:path';
import { mkdir } from 'node:fs/promises';
import sharp from 'sharp';
import { writeFileAtomically } from '../fs/atomic-write.ts';

/** Black lines between and around the images, as torchvision's make_grid draws them. */
export const GRID_GUTTER = 2;

/** n images (NHWC uint8) as one PNG with `cols` columns (default: as square as it gets). */
export async function encodeImageGrid(pixels: Uint8Array, n: number, size: number, channels: 1 | 3, cols = Math.max(1, Math.ceil(Math.sqrt(n)))): Promise<Buffer> {
  const per = size * size * channels;
  if (!(Number.isInteger(n) && n >= 0 && Number.isInteger(cols) && cols >= 1)) throw new RangeError(`Image grid needs a whole number of images and at least one column; got n=${n}, cols=${cols}.`);
  if (pixels.length < n * per) throw new RangeError(`Image grid of ${n} images of ${size}x${size}x${channels} needs ${n * per} bytes; got ${pixels.length}.`);
  const rows = Math.ceil(n / cols);
  const width = cols * size + (cols + 1) * GRID_GUTTER;
  const height = rows * size + (rows + 1) * GRID_GUTTER;
  const canvas = new Uint8Array(width * height * channels);
  for (let k = 0; k < n; k++) {
    const top = GRID_GUTTER + Math.floor(k / cols) * (size + GRID_GUTTER);
    const left = GRID_GUTTER + (k % cols) * (size + GRID_GUTTER);
    for (let y = 0; y < size; y++) {
      const src = k * per + y * size * channels;
      canvas.set(pixels.subarray(src, src + size * channels), ((top + y) * width + left) * channels);
    }
  }
  // Without the colour space sharp would widen one channel to three in the PNG.
  return sharp(canvas, { raw: { width, height, channels } })
    .toColourspace(channels === 1 ? 'b-w' : 'srgb')
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** encodeImageGrid written atomically to `path` (its folder is created). */
export async function writeImageGrid(path: string, pixels: Uint8Array, n: number, size: number, channels: 1 | 3, cols?: number): Promise<void> {
  const png = await encodeImageGrid(pixels, n, size, channels, cols);
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomically(path, png);
}
