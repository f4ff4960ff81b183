// The worker's model cache (main/worker/model-cache.ts) while a run trains: a newer checkpoint
// of the same model only replaces the weights of the loaded one, so its runtime (traced onnx
// sessions, replica threads) stays warm and the next grid needs no tracing; a different model
// is loaded afresh.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint, latestCheckpoint } from '../../main/engine/checkpoint/checkpoint-store.ts';
import { resume, train } from '../../main/engine/train/trainer.ts';
import { ModelCache } from '../../main/worker/model-cache.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

let root: string;
let images: Awaited<ReturnType<typeof makeImageFolder>>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowdesk-model-cache-'));
  images = await makeImageFolder({ count: 16, size: 8, channels: 1 });
});
afterAll(async () => {
  await images.cleanup();
  await rm(root, { recursive: true, force: true });
});

const model = { kind: 'glow' as const, size: 8, channels: 1 as const, levels: 1, depth: 1, hidden: 8 };
const settings = { batch: 4, steps: 2, evalEvery: 2, checkpointEvery: 2, valImages: 4, sampleCount: 4 };

function weightsOf(explorer: { model: { params: { variables: Map<string, { dataSync(): ArrayLike<number> }> } } }): number[] {
  return [...explorer.model.params.variables.values()].flatMap((v) => Array.from(v.dataSync()));
}

describe('ModelCache', () => {
  it('keeps the loaded model for a newer checkpoint of the same model, with the new weights', async () => {
    const runsDir = join(root, 'runs');
    const { runDir } = await train({ folder: images.dir, model, train: settings, runsDir, cacheDir: null });
    const cache = new ModelCache();
    const first = await cache.forRun(runDir);
    const before = weightsOf(first);
    await resume(runDir, { steps: 4, cacheDir: null });
    const second = await cache.forRun(runDir);
    expect(second).toBe(first);
    const latest = (await latestCheckpoint(runDir))!;
    expect(latest.step).toBe(4);
    // The cache holds the default weights: the moving average the checkpoint keeps.
    const stored = (await readCheckpoint(latest.dir)).ema!.tensors;
    const after = weightsOf(second);
    expect(after).not.toEqual(before);
    const expected = [...second.model.params.variables.keys()].flatMap((name) => Array.from(stored[name].data as Float32Array));
    expect(after).toEqual(expected);

    const other = await train({ folder: images.dir, model: { ...model, hidden: 12 }, train: settings, runsDir, cacheDir: null });
    const third = await cache.forRun(other.runDir);
    expect(third).not.toBe(first);
    expect(third.model.config.hidden).toBe(12);
  });
});
