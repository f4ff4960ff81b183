// Training end to end on generated images: validation bits per dim fall by a clear margin,
// resume continues exactly (same loss as an uninterrupted run, for Glow, Glow with spline
// couplings and TarFlow, and with horizontal flip too), and the run folder is complete.
import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../main/engine/models/config.ts';
import { resume, train } from '../../main/engine/train/trainer.ts';
import type { TrainEvent } from '../../main/engine/train/train-events.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

let folder: Awaited<ReturnType<typeof makeImageFolder>>;
const runsDir = join(tmpdir(), `flowdesk-train-${process.pid}`);
const model: ModelConfig = { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 2, hidden: 16 };

beforeAll(async () => {
  folder = await makeImageFolder({ count: 120, size: 8, channels: 1, pattern: 'stripes' });
});

afterAll(async () => {
  await folder.cleanup();
  await rm(runsDir, { recursive: true, force: true });
});

async function losses(runDir: string): Promise<Map<number, number>> {
  const text = await readFile(join(runDir, 'metrics.jsonl'), 'utf8');
  const out = new Map<number, number>();
  for (const line of text.split('\n').filter(Boolean)) {
    const row = JSON.parse(line);
    if (row.type === 'train') out.set(row.step, row.loss);
  }
  return out;
}

describe('training', () => {
  it('lowers validation bits per dim by a clear margin', async () => {
    const events: TrainEvent[] = [];
    const result = await train({
      folder: folder.dir,
      model,
      train: { batch: 16, steps: 150, lr: 5e-3, warmup: 20, evalEvery: 50, checkpointEvery: 50, seed: 1 },
      runsDir,
      cacheDir: null,
      onEvent: (e) => events.push(e),
    });
    expect(result.reason).toBe('steps');
    expect(result.initialValBpd).not.toBeNull();
    // Stripes are very predictable: a working flow drops well over a bit per dimension.
    expect(result.valBpd!).toBeLessThan(result.initialValBpd! - 1);
    expect(events.filter((e) => e.type === 'eval').map((e) => e.step)).toEqual([0, 50, 100, 150]);
    const samples = await readdir(join(result.runDir, 'samples'));
    expect(samples.sort()).toEqual(['step-0.png', 'step-100.png', 'step-150.png', 'step-50.png']);
    const checkpoints = await readdir(join(result.runDir, 'checkpoints'));
    expect(checkpoints).toContain('step-150');
  });

  // Each family's own state: spline couplings; TarFlow with noise augmentation, seeded by step.
  const resumed: [string, ModelConfig][] = [
    ['glow', model],
    ['glow-spline', { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 2, hidden: 16, coupling: 'spline', bins: 4 }],
    ['tarflow', { kind: 'tarflow', size: 8, channels: 1, patch: 2, depth: 2, hidden: 16, attnLayers: 1, headDim: 8, noise: 0.05 }],
  ];
  for (const [name, config] of resumed) {
    it(`${name}: resumes exactly: the step after resuming has the uninterrupted run’s loss`, async () => {
      const common = { folder: folder.dir, model: config, runsDir, cacheDir: null } as const;
      const settings = { batch: 8, lr: 2e-3, warmup: 5, evalEvery: 100, checkpointEvery: 10, seed: 3 };
      const straight = await train({ ...common, name: `${name}-straight`, train: { ...settings, steps: 20 } });
      const first = await train({ ...common, name: `${name}-interrupted`, train: { ...settings, steps: 10 } });
      const again = await resume(first.runDir, { steps: 20, cacheDir: null });
      expect(again.step).toBe(20);
      const a = await losses(straight.runDir);
      const b = await losses(first.runDir);
      expect(b.size).toBe(20);
      for (const step of [11, 12, 20]) expect(b.get(step)).toBe(a.get(step));
    });
  }

  it('resumes exactly with horizontal flip on, and the flip changes what is learnt', async () => {
    const common = { folder: folder.dir, model, runsDir, cacheDir: null } as const;
    const settings = { batch: 8, lr: 2e-3, warmup: 5, evalEvery: 100, checkpointEvery: 5, seed: 3 };
    const straight = await train({ ...common, name: 'flip-straight', train: { ...settings, flip: 'on', steps: 10 } });
    const first = await train({ ...common, name: 'flip-interrupted', train: { ...settings, flip: 'on', steps: 5 } });
    await resume(first.runDir, { steps: 10, cacheDir: null });
    const a = await losses(straight.runDir);
    const b = await losses(first.runDir);
    for (const step of [6, 7, 10]) expect(b.get(step)).toBe(a.get(step));
    // The same settings without flip (the 'straight' run of the test above has other settings).
    const unflipped = await losses((await train({ ...common, name: 'no-flip', train: { ...settings, flip: 'off', steps: 10 } })).runDir);
    expect([6, 7, 10].some((step) => unflipped.get(step) !== a.get(step))).toBe(true);
  });
});
