// Many small images (NHWC uint8) laid out as one PNG grid with a thin gutter, for sample grids,
// interpolations and reports.
import { dirname } from 'node:path';
import { mkdir } from 'node:fs/promises';
import sharp from 'sharp';
import { writeFileAtomically } from '../fs/atomic-write.ts';

const GUTTER = 2;

export async function encodeImageGrid(pixels: Uint8Array, n: number, size: number, channels: 1 | 3, cols = Math.ceil(Math.sqrt(n))): Promise<Buffer> {
  const rows = Math.ceil(n / cols);
  const width = cols * size + (cols + 1) * GUTTER;
  const height = rows * size + (rows + 1) * GUTTER;
  const canvas = new Uint8Array(width * height * channels);
  const per = size * size * channels;
  for (let k = 0; k < n; k++) {
    const top = GUTTER + Math.floor(k / cols) * (size + GUTTER);
    const left = GUTTER + (k % cols) * (size + GUTTER);
    for (let y = 0; y < size; y++) {
      const src = k * per + y * size * channels;
      canvas.set(pixels.subarray(src, src + size * channels), ((top + y) * width + left) * channels);
    }
  }
  return sharp(canvas, { raw: { width, height, channels } }).png({ compressionLevel: 6 }).toBuffer();
}

export async function writeImageGrid(path: string, pixels: Uint8Array, n: number, size: number, channels: 1 | 3, cols?: number): Promise<void> {
  const png = await encodeImageGrid(pixels, n, size, channels, cols);
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomically(path, png);
}
