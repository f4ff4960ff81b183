// Frames (NHWC uint8, one image each) as an animated WebP or GIF that plays forward and back,
// for interpolation strips.
import sharp from 'sharp';

export async function encodeAnimation(frames: Uint8Array, count: number, size: number, channels: 1 | 3, format: 'webp' | 'gif', frameMs = 120): Promise<Buffer> {
  const per = size * size * channels;
  // Forward then backward (without repeating the ends) loops smoothly.
  const order = [...Array(count).keys(), ...[...Array(Math.max(0, count - 2)).keys()].map((i) => count - 2 - i)];
  const stacked = new Uint8Array(order.length * per);
  order.forEach((f, i) => stacked.set(frames.subarray(f * per, (f + 1) * per), i * per));
  const image = sharp(stacked, { raw: { width: size, height: size * order.length, channels, pageHeight: size } as never });
  const delay = order.map(() => frameMs);
  return format === 'webp' ? image.webp({ loop: 0, delay, lossless: true }).toBuffer() : image.gif({ loop: 0, delay }).toBuffer();
}
