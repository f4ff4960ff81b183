// Reading single images out of an ImageSprite (one PNG grid of many images): where image i
// sits, and that image alone as a PNG data URL the Api accepts as a dropped file.
import type { ImageSprite } from '../../preload/api.ts';

/** Top-left corner of image `i` in the sprite's pixels. */
export function cellOrigin(s: ImageSprite, i: number): { left: number; top: number } {
  return { left: s.gutter + (i % s.columns) * (s.cell + s.gutter), top: s.gutter + Math.floor(i / s.columns) * (s.cell + s.gutter) };
}

/** The sprite's whole size in pixels. */
export function spriteSize(s: ImageSprite): { width: number; height: number } {
  const rows = Math.ceil(s.count / s.columns);
  return { width: s.columns * s.cell + (s.columns + 1) * s.gutter, height: rows * s.cell + (rows + 1) * s.gutter };
}

/** Image `i` cut out of the sprite as a PNG data URL. */
export async function cropSprite(s: ImageSprite, i: number): Promise<string> {
  const img = new Image();
  img.src = s.image;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = s.cell;
  canvas.height = s.cell;
  const { left, top } = cellOrigin(s, i);
  canvas.getContext('2d')!.drawImage(img, left, top, s.cell, s.cell, 0, 0, s.cell, s.cell);
  return canvas.toDataURL('image/png');
}
