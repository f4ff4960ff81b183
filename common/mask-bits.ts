// An inpainting mask as the app sends it: one bit per pixel of a side x side image, row by row,
// bit i in byte i >> 3 (lowest bit first), 1 = the hole to fill; base64, so 32 x 32 is 172 characters.

export interface MaskBits {
  /** The mask's side in pixels: the model's image size. */
  side: number;
  /** base64 of ceil(side² / 8) bytes. */
  bits: string;
}

/** Bytes a mask of `side` x `side` pixels packs into. */
export function maskByteLength(side: number): number {
  return Math.ceil((side * side) / 8);
}

/** Packs one value per pixel (non-zero = hole) into a MaskBits. */
export function packMask(hole: ArrayLike<number>, side: number): MaskBits {
  const bytes = new Uint8Array(maskByteLength(side));
  for (let i = 0; i < side * side; i++) if (hole[i]) bytes[i >> 3] |= 1 << (i & 7);
  return { side, bits: btoa(String.fromCharCode(...bytes)) };
}

/** One value per pixel, 1 = hole; null when `bits` is not base64 of exactly the bytes `side` needs. */
export function unpackMask(mask: MaskBits): Uint8Array | null {
  let text: string;
  try {
    text = atob(mask.bits);
  } catch {
    return null;
  }
  if (text.length !== maskByteLength(mask.side)) return null;
  const hole = new Uint8Array(mask.side * mask.side);
  for (let i = 0; i < hole.length; i++) hole[i] = (text.charCodeAt(i >> 3) >> (i & 7)) & 1;
  return hole;
}
