// Training a class-conditional Glow end to end (issue 17): the model takes its classes from the
// imported set, resumes exactly, evaluates bits given the class, unconditional bits and accuracy,
// draws one grid row per class, and `flowdesk sample --class` and `change-class` use them; a
// conditional TarFlow with label dropout resumes exactly too and samples with `--guidance`, and a
// conditional flow matching validates its bits given the class and its unconditional branch.
// The import is wrapped to label each image by its index (h-classes' sub-folder labels stand in).
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ImageSet } from '../../main/engine/data/index.ts';

/** The class names the wrapped import gives; a test changes them to see a resume refused. */
const labelled = vi.hoisted(() => ({ names: ['a', 'b', 'c'] }));

vi.mock('../../main/engine/data/index.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../main/engine/data/index.ts')>();
  const withLabels = (set: ImageSet): ImageSet => ({ ...set, labels: Int32Array.from({ length: set.count }, (_, i) => i % labelled.names.length), classes: [...labelled.names] });
  return {
    ...real,
    importImageFolder: async (...args: Parameters<typeof real.importImageFolder>) => {
      const out = await real.importImageFolder(...args);
      return { ...out, train: withLabels(out.train), val: withLabels(out.val) };
    },
  };
});

const { resume, train } = await import('../../main/engine/train/trainer.ts');
const { sampleCommand } = await import('../../main/cli/sample-command.ts');
const { changeClassCommand } = await import('../../main/cli/explore-commands.ts');
const { makeImageFolder } = await import('../helpers/image-folder.ts');
type TrainEvent = import('../../main/engine/train/train-events.ts').TrainEvent;

let folder: Awaited<ReturnType<typeof makeImageFolder>>;
const runsDir = join(tmpdir(), `flowdesk-class-train-${process.pid}`);
const model = { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8 } as const;
const settings = { batch: 6, lr: 2e-3, warmup: 5, evalEvery: 10, checkpointEvery: 5, seed: 3, sampleCount: 6, valImages: 12 };

beforeAll(async () => {
  folder = await makeImageFolder({ count: 60, size: 8, channels: 1, pattern: 'blobs' });
});

afterAll(async () => {
  await folder.cleanup();
  await rm(runsDir, { recursive: true, force: true });
});

async function rows(runDir: string): Promise<Record<string, unknown>[]> {
  return (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

describe('a class-conditional run', () => {
  it('takes its classes from the data, evaluates them, draws a row per class, and resumes exactly', async () => {
    const common = { folder: folder.dir, model, runsDir, cacheDir: null } as const;
    const events: TrainEvent[] = [];
    const straight = await train({ ...common, name: 'straight', train: { ...settings, steps: 10 }, onEvent: (e) => events.push(e) });
    const first = await train({ ...common, name: 'interrupted', train: { ...settings, steps: 5 } });
    await resume(first.runDir, { steps: 10, cacheDir: null });
    const losses = async (dir: string) => new Map((await rows(dir)).filter((r) => r.type === 'train').map((r) => [r.step, r.loss]));
    const a = await losses(straight.runDir);
    const b = await losses(first.runDir);
    for (const step of [6, 7, 10]) expect(b.get(step)).toBe(a.get(step));

    const json = JSON.parse(await readFile(join(straight.runDir, 'checkpoints', 'step-10', 'model.json'), 'utf8'));
    expect(json.config.classes).toBe(3);
    expect(json.classNames).toEqual(['a', 'b', 'c']);
    expect(json.classFrequencies.reduce((s: number, f: number) => s + f, 0)).toBeCloseTo(1, 12);

    const evals = (await rows(straight.runDir)).filter((r) => r.type === 'eval');
    for (const row of evals) {
      expect(row.valBpd).toEqual(expect.any(Number));
      expect(row.valBpdUnconditional).toEqual(expect.any(Number));
      expect(row.valAccuracy).toEqual(expect.any(Number));
    }
    const evalEvents = events.filter((e) => e.type === 'eval');
    expect(evalEvents.at(-1)).toMatchObject({ classes: { unconditionalBpd: expect.any(Number), accuracy: expect.any(Number) } });
    // Untrained, the class embedding is zero: every class is as likely, so p(x) = p(x|y) for every y.
    expect(evals[0].valBpdUnconditional).toBeCloseTo(evals[0].valBpd as number, 5);

    // 6 samples over 3 classes: a grid of 3 rows of 2 (gutters between images).
    const grid = await sharp(join(straight.runDir, 'samples', 'step-10.png')).metadata();
    expect(grid.height! / grid.width!).toBeGreaterThan(1.3);
  });

  it('samples a class, or a row per class, from the command line, and changes the class of an image', async () => {
    const runDir = join(runsDir, 'straight');
    const out = join(runsDir, 'rows.png');
    const lines: string[] = [];
    expect(await sampleCommand([runDir, '--class', 'all', '--n', '4', '-o', out], (l) => lines.push(l))).toBe(0);
    expect(lines[0]).toMatch(/wrote 12 samples .*class all/);
    const grid = await sharp(out).metadata();
    expect(grid.width! / grid.height!).toBeCloseTo(4 / 3, 1);
    expect(await sampleCommand([runDir, '--class', 'b', '--n', '4', '-o', out], () => {})).toBe(0);
    await expect(sampleCommand([runDir, '--class', 'zebra', '-o', out], () => {})).rejects.toThrow(/--class: No class "zebra" in this model; its classes are a, b, c/);
    const changed = join(runsDir, 'changed.png');
    expect(await changeClassCommand([runDir, folder.good[0], '--from', 'a', '-o', changed], () => {})).toBe(0);
    const strip = await sharp(changed).metadata();
    expect(strip.width! / strip.height!).toBeGreaterThan(2.5);
  });

  it('refuses to resume on a folder whose classes changed, naming both', async () => {
    labelled.names = ['a', 'b'];
    try {
      await expect(resume(join(runsDir, 'interrupted'), { steps: 12, cacheDir: null })).rejects.toThrow(/classes in .* \(a, b\) are not those this conditional model was trained on \(a, b, c\)/);
    } finally {
      labelled.names = ['a', 'b', 'c'];
    }
  });
});

describe('a class-conditional TarFlow run with label dropout', () => {
  const tarflow = { kind: 'tarflow', size: 8, channels: 1, patch: 2, depth: 2, hidden: 16, attnLayers: 1, headDim: 8, noise: 0.05, labelDropout: 0.3 } as const;
  const short = { ...settings, evalEvery: 3, checkpointEvery: 3 };

  it('resumes exactly, evaluates the classes as Glow does, and samples with guidance from the command line', async () => {
    const common = { folder: folder.dir, model: tarflow, runsDir, cacheDir: null } as const;
    const straight = await train({ ...common, name: 'tarflow-straight', train: { ...short, steps: 6 } });
    const first = await train({ ...common, name: 'tarflow-interrupted', train: { ...short, steps: 3 } });
    await resume(first.runDir, { steps: 6, cacheDir: null });
    const losses = async (dir: string) => new Map((await rows(dir)).filter((r) => r.type === 'train').map((r) => [r.step, r.loss]));
    const a = await losses(straight.runDir);
    const b = await losses(first.runDir);
    for (const step of [4, 5, 6]) expect(b.get(step)).toBe(a.get(step));

    const json = JSON.parse(await readFile(join(straight.runDir, 'checkpoints', 'step-6', 'model.json'), 'utf8'));
    expect(json.config).toMatchObject({ classes: 3, labelDropout: 0.3 });
    expect(json.classNames).toEqual(['a', 'b', 'c']);
    for (const row of (await rows(straight.runDir)).filter((r) => r.type === 'eval')) {
      expect(row).toMatchObject({ valBpd: expect.any(Number), valBpdUnconditional: expect.any(Number), valAccuracy: expect.any(Number) });
    }

    const out = join(runsDir, 'guided.png');
    const lines: string[] = [];
    expect(await sampleCommand([straight.runDir, '--class', 'all', '--n', '2', '--guidance', '2', '-o', out], (l) => lines.push(l))).toBe(0);
    expect(lines[0]).toMatch(/wrote 6 samples .*class all, guidance 2\)/);
    await expect(sampleCommand([straight.runDir, '--guidance', '2', '-o', out], () => {})).rejects.toThrow(/--guidance needs --class/);
    await expect(sampleCommand([join(runsDir, 'straight'), '--class', 'a', '--guidance', '2', '-o', out], () => {})).rejects.toThrow(/--guidance: a glow model has no classifier-free guidance/);
  });
});

describe('a class-conditional flow-matching run', () => {
  it('validates the bits given the class and its unconditional branch, with no accuracy', async () => {
    const flowMatching = { kind: 'flow-matching', size: 8, channels: 1, levels: 1, depth: 1, hidden: 8, solver: 'euler', odeSteps: 1 } as const;
    const run = await train({ folder: folder.dir, model: flowMatching, runsDir, cacheDir: null, name: 'fm', train: { ...settings, steps: 2, evalEvery: 2, checkpointEvery: 2, valImages: 4 } });
    const evals = (await rows(run.runDir)).filter((r) => r.type === 'eval');
    expect(evals.length).toBeGreaterThan(0);
    for (const row of evals) expect(row).toMatchObject({ valBpd: expect.any(Number), valBpdUnconditional: expect.any(Number), valAccuracy: null });
    const grid = await sharp(join(run.runDir, 'samples', 'step-2.png')).metadata();
    expect(grid.height! / grid.width!).toBeGreaterThan(1.3);
  });
});
