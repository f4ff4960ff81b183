// The import report's strip is a seeded random sample of the set, not its first images (which
// are often one class: sorted digits, one CIFAR label), and the same sample on every import.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { importImageFolder } from '../../main/engine/data/index.ts';
import { ModelCache } from '../../main/worker/model-cache.ts';
import { EngineService } from '../../main/worker/service.ts';
import { encodeImage } from '../helpers/image-folder.ts';

const SIZE = 8;
const PAD = 2; // the grid's gap around tiles (image-grid.ts)
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowdesk-strip-'));
  for (let i = 0; i < 32; i++) {
    const value = i * 8; // every image its own gray level, so a tile names its image
    await writeFile(join(dir, `img-${String(i).padStart(2, '0')}.png`), await encodeImage(new Uint8Array(SIZE * SIZE).fill(value), SIZE, 1, 'png'));
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tileMeans(dataUrl: string): Promise<number[]> {
  const { data, info } = await sharp(Buffer.from(dataUrl.split(',')[1], 'base64')).greyscale().raw().toBuffer({ resolveWithObject: true });
  const tiles = Math.round((info.width - PAD) / (SIZE + PAD));
  return Array.from({ length: tiles }, (_, t) => {
    let sum = 0;
    for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) sum += data[(PAD + y) * info.width + PAD + t * (SIZE + PAD) + x];
    return sum / (SIZE * SIZE);
  });
}

it('shows a seeded random sample of the imported images', async () => {
  const service = new EngineService(join(dir, 'runs'), () => undefined, new ModelCache(), [realpathSync(tmpdir())]);
  const request = { folder: dir, size: SIZE, channels: 1 as const };
  const first = await service.importFolder(request);
  const means = (await tileMeans(first.thumbnails)).map(Math.round);
  const { train } = await importImageFolder(dir, { size: SIZE, channels: 1, cacheDir: null });
  const levels = Array.from({ length: train.count }, (_, i) => train.pixels[i * SIZE * SIZE]);
  expect(means).toHaveLength(16);
  expect(means.every((m) => levels.includes(m))).toBe(true);
  expect(means).not.toEqual(levels.slice(0, 16));
  expect((await service.importFolder(request)).thumbnails).toBe(first.thumbnails);
});
