// Images across the Api in the worker: a picked image's base64 file bytes decoded to a model's
// pixels (by the same sharp pipeline as training data), and pixels back out as PNG data URLs and sprites.
import type { ImageSprite } from '../../preload/api.ts';
import { decodeImageBuffer, encodeImageGrid, GRID_GUTTER } from '../engine/data/index.ts';
import { FlowDeskError } from '../engine/errors.ts';

export function dataUrl(bytes: Buffer, type = 'image/png'): string {
  return `data:${type};base64,${bytes.toString('base64')}`;
}

/** The image's pixels at `size` x `size` (centre square, resized by area); `what` names it in the error. */
export async function decodePicked(base64: string, size: number, channels: 1 | 3, what: string): Promise<Uint8Array> {
  try {
    return await decodeImageBuffer(Buffer.from(base64, 'base64'), { size, channels });
  } catch (err) {
    throw new FlowDeskError('BAD_IMAGE', `${what} cannot be used: ${(err as Error).message}.`);
  }
}

/** Images of `size` x `size` back to back, as one PNG (a square grid unless `columns` says otherwise). */
export async function pngOf(pixels: Uint8Array, size: number, channels: 1 | 3, columns?: number): Promise<string> {
  return dataUrl(await encodeImageGrid(pixels, pixels.length / (size * size * channels), size, channels, columns));
}

export async function spriteOf(pixels: Uint8Array, count: number, size: number, channels: 1 | 3, columns: number): Promise<ImageSprite> {
  return { image: dataUrl(await encodeImageGrid(pixels, count, size, channels, columns)), count, columns, cell: size, gutter: GRID_GUTTER };
}
