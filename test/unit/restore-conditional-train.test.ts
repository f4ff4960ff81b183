// Training a flow for restoration end to end (issue 17, way 2): the loss falls, a resumed run repeats
// the uninterrupted one's losses (the degradations are drawn from (seed, step)), and restoring with
// the trained run samples p(x | y) while keeping the observation: inpainting leaves observed pixels,
// upscaling's output averages back to the small image; a task the run was not trained for is refused.
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreDefaults } from '../../common/restore-fields.ts';
import type { FlowModel } from '../../main/engine/models/flow-model.ts';
import { downsampleBox } from '../../main/engine/restore/box-average.ts';
import type { RestoreTask } from '../../main/engine/restore/observation.ts';
import { randomSquareMask } from '../../main/engine/restore/mask.ts';
import { inpaint, upscale, type Restorer } from '../../main/engine/restore/restore.ts';
import { loadModelFolder } from '../../main/engine/runs/model-folder.ts';
import { Rng } from '../../main/engine/random.ts';
import { resume, train } from '../../main/engine/train/trainer.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

let folder: Awaited<ReturnType<typeof makeImageFolder>>;
const runsDir = join(tmpdir(), `flowdesk-restore-train-${process.pid}`);
const SIZE = 8;
const model = (restoreTask: RestoreTask) => ({ kind: 'glow', size: SIZE, channels: 1, levels: 2, depth: 1, hidden: 8, restoreTask }) as const;
const settings = { batch: 8, lr: 3e-3, warmup: 2, evalEvery: 10, checkpointEvery: 5, seed: 4, sampleCount: 4, valImages: 8 };
const restoreSettings = { ...restoreDefaults(), samples: 3, seed: 2 };

beforeAll(async () => {
  folder = await makeImageFolder({ count: 40, size: SIZE, channels: 1, pattern: 'blobs' });
});

afterAll(async () => {
  await folder.cleanup();
  await rm(runsDir, { recursive: true, force: true });
});

async function trainLosses(runDir: string): Promise<Map<number, number>> {
  const rows = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return new Map(rows.filter((r) => r.type === 'train').map((r) => [r.step as number, r.loss as number]));
}

async function restorer(runDir: string): Promise<Restorer & { model: FlowModel }> {
  const { model: m, json } = await loadModelFolder(runDir);
  return { model: m, nBits: json.nBits };
}

/** One test image's pixels from the folder's own pattern. */
function pixels(seed: number): Uint8Array {
  return Uint8Array.from(new Rng(seed).fillUniform(new Float32Array(SIZE * SIZE)), (v) => Math.floor(v * 256));
}

describe('a run trained for inpainting', () => {
  let runDir: string;

  it('lowers its loss and resumes exactly', async () => {
    const common = { folder: folder.dir, model: model('inpaint'), runsDir, cacheDir: null } as const;
    const straight = await train({ ...common, name: 'inpaint', train: { ...settings, steps: 20 } });
    runDir = straight.runDir;
    const first = await train({ ...common, name: 'inpaint-resumed', train: { ...settings, steps: 5 } });
    await resume(first.runDir, { steps: 10, cacheDir: null });
    const a = await trainLosses(straight.runDir);
    const b = await trainLosses(first.runDir);
    for (const step of [6, 7, 10]) expect(b.get(step)).toBe(a.get(step));
    const mean = (steps: number[]) => steps.reduce((s, k) => s + a.get(k)!, 0) / steps.length;
    expect(mean([18, 19, 20])).toBeLessThan(mean([1, 2, 3]) - 0.1);
  }, 240_000);

  it('inpaints by its p(x | y), keeping every observed pixel, and refuses to upscale', async () => {
    const r = await restorer(runDir);
    try {
      const image = pixels(1);
      const mask = randomSquareMask(SIZE, new Rng(3));
      const out = await inpaint(r, image, mask, restoreSettings);
      expect(out.method).toBe('conditional');
      expect(out.count).toBe(3);
      for (let k = 0; k < out.count; k++) {
        for (let p = 0; p < SIZE * SIZE; p++) if (mask[p]) expect(Math.abs(out.candidates[k * SIZE * SIZE + p] - image[p])).toBeLessThanOrEqual(1);
      }
      // The hole is sampled, not copied: candidates differ there.
      const hole = [...mask.keys()].filter((p) => !mask[p]);
      expect(hole.some((p) => out.candidates[p] !== out.candidates[SIZE * SIZE + p])).toBe(true);
      await expect(upscale(r, pixels(2).subarray(0, 16), 2, restoreSettings)).rejects.toThrow(/trained for inpainting \(restoreTask inpaint\), so it cannot do upscaling x2/);
    } finally {
      r.model.dispose();
    }
  });
});

describe('a run trained for upscaling x2', () => {
  it('trains, upscales by its p(x | y) back onto the small image, and refuses x4 and inpainting', async () => {
    const { runDir } = await train({ folder: folder.dir, model: model('upscale-2'), runsDir, cacheDir: null, name: 'upscale', train: { ...settings, steps: 10 } });
    const r = await restorer(runDir);
    try {
      const small = pixels(5).subarray(0, (SIZE / 2) ** 2);
      const out = await upscale(r, small, 2, restoreSettings);
      expect(out.method).toBe('conditional');
      for (let k = 0; k < out.count; k++) {
        const back = downsampleBox(out.candidates.subarray(k * SIZE * SIZE, (k + 1) * SIZE * SIZE), { n: 1, size: SIZE, channels: 1, factor: 2 });
        back.forEach((v, i) => expect(Math.abs(v - small[i])).toBeLessThanOrEqual(1));
      }
      await expect(upscale(r, pixels(6).subarray(0, 4), 4, restoreSettings)).rejects.toThrow(/trained for upscaling x2 \(restoreTask upscale-2\), so it cannot do upscaling x4: use a run trained with restoreTask upscale-4/);
      await expect(inpaint(r, pixels(7), randomSquareMask(SIZE, new Rng(1)), restoreSettings)).rejects.toThrow(/restoreTask upscale-2\), so it cannot do inpainting/);
    } finally {
      r.model.dispose();
    }
  }, 240_000);
});
