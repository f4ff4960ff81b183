// What a JPEG's or PNG's header says about decoding it joined with others (decode.ts
// decodeJoined): its size, whether it is gray, and how its pixels come out; or null when anything
// in it is read per image after loading (an EXIF orientation, an ICC profile, a gain map, CMYK),
// when it is gray with alpha, or when the header is not understood.
import { imageFormatOf } from './image-format.ts';

export interface ImageShape {
  /** Equal keys: same format, size, bands and interpretation, so the images decode alike joined. */
  key: string;
  width: number;
  height: number;
  /** One band without alpha: 8-bit JPEG or 8- or 16-bit PNG. */
  gray: boolean;
}

function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at] << 8) | bytes[at + 1];
}

function u32(bytes: Uint8Array, at: number): number {
  return u16(bytes, at) * 65536 + u16(bytes, at + 2);
}

/** Frame headers libjpeg reads with 8 bits a sample: baseline, extended and progressive Huffman. */
const PLAIN_FRAMES = new Set([0xc0, 0xc1, 0xc2]);
/** Every other frame kind (lossless, arithmetic, hierarchical); 0xc4, 0xc8 and 0xcc are not frames. */
const OTHER_FRAMES = new Set([0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/**
 * Markers up to the start of the scan. APP1 (EXIF orientation, XMP gain-map data) and APP2 (ICC
 * profile, multi-picture gain maps) are what libvips and sharp act on per image; a file with
 * either decodes alone.
 */
function jpegShape(bytes: Uint8Array): ImageShape | null {
  let shape: ImageShape | null = null;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      at += 2; // no length
      continue;
    }
    if (marker === 0xda) return shape;
    if (marker === 0xe1 || marker === 0xe2 || OTHER_FRAMES.has(marker)) return null;
    const length = u16(bytes, at + 2);
    if (length < 2) return null;
    if (PLAIN_FRAMES.has(marker)) {
      if (shape !== null || at + 10 > bytes.length) return null;
      const [precision, height, width, components] = [bytes[at + 4], u16(bytes, at + 5), u16(bytes, at + 7), bytes[at + 9]];
      if (precision !== 8 || height === 0 || width === 0 || (components !== 1 && components !== 3)) return null;
      shape = { key: `jpeg ${width}x${height} ${components}`, width, height, gray: components === 1 };
    }
    at += 2 + length;
  }
  return null;
}

/**
 * Chunks that change nothing after loading: libvips attaches no profile for sRGB, gAMA or cHRM,
 * and the flatten's background is given, not bKGD's. iCCP (a profile), eXIf (an orientation),
 * acTL (animation) or anything unknown, anywhere in the file, make it decode alone, and so does a
 * file that stops before IEND (the error is then decodeImageBuffer's).
 */
const PLAIN_PNG_CHUNKS = new Set(['IHDR', 'PLTE', 'tRNS', 'IDAT', 'gAMA', 'cHRM', 'sRGB', 'sBIT', 'bKGD', 'pHYs', 'tEXt', 'zTXt', 'iTXt', 'tIME']);

/** Gray (0), RGB, palette and RGBA; not gray with alpha (4). */
const COLOUR_TYPES = new Set([0, 2, 3, 6]);

function pngShape(bytes: Uint8Array): ImageShape | null {
  const type = (at: number) => String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
  if (bytes.length < 33 || type(12) !== 'IHDR') return null;
  const [width, height, depth, colour] = [u32(bytes, 16), u32(bytes, 20), bytes[24], bytes[25]];
  if (width === 0 || height === 0 || !COLOUR_TYPES.has(colour) || (colour === 0 && depth < 8)) return null;
  let transparent = false;
  for (let at = 8; at + 12 <= bytes.length; at += 12 + u32(bytes, at)) {
    const chunk = type(at + 4);
    if (chunk === 'IEND') {
      // tRNS gives a gray image alpha.
      if (colour === 0 && transparent) return null;
      return { key: `png ${width}x${height} ${depth} ${colour}${transparent ? ' tRNS' : ''}`, width, height, gray: colour === 0 };
    }
    if (!PLAIN_PNG_CHUNKS.has(chunk)) return null;
    if (chunk === 'tRNS') transparent = true;
  }
  return null;
}

/** The shape of a JPEG or PNG that can be decoded joined with others of its key; null otherwise. */
export function imageShape(bytes: Uint8Array): ImageShape | null {
  const format = imageFormatOf(bytes);
  return format === 'jpeg' ? jpegShape(bytes) : format === 'png' ? pngShape(bytes) : null;
}
