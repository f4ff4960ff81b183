// A folder of image classes, one sub-folder per class, for tests of class-conditional models:
// each class's images are blobs around the class's own grey level, so its rows are told apart.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../main/engine/random.ts';
import { encodeImage, patternPixels } from './image-folder.ts';

export interface ClassFolder {
  dir: string;
  cleanup(): Promise<void>;
}

/** `levels`: each class's mean grey level (0..255), by class name; `count` greyscale images of `size` per class. */
export async function makeClassFolder(levels: Record<string, number>, count: number, size: number, seed = 0): Promise<ClassFolder> {
  const dir = await mkdtemp(join(tmpdir(), 'flowdesk-class-folder-'));
  const rng = new Rng(seed);
  for (const [name, level] of Object.entries(levels)) {
    await mkdir(join(dir, name));
    for (let i = 0; i < count; i++) {
      // Blobs span 20..235; squeezed to ±30 around the class's level.
      const pixels = patternPixels(size, 1, 'blobs', rng).map((v) => Math.max(0, Math.min(255, Math.round(level + ((v - 128) * 30) / 108))));
      await writeFile(join(dir, name, `${i}.png`), await encodeImage(pixels, size, 1, 'png'));
    }
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
