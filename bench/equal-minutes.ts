// `npm run bench -- --equal-minutes[=M]`: issue 16's comparison at equal time. Each image model kind
// trains M minutes (10 by default; evaluations, checkpoints and setup count) on the CIFAR-10 subset's
// train folder at shapes of similar parameter count, then is scored on its test folder as `flowdesk
// eval` scores it, and draws a 64-image grid (temperature 0.7; 1.0 for flow matching, whose noise
// is not a flow's latent) to --out (a temporary folder by default). One JSON line per model.
// --models=glow,glow-spline,realnvp,tarflow,flow-matching (default: those five; the variants tried
// beside them are named in MODELS) --seed=0 --datasets=DIR (default ../shared/datasets) --out=DIR
// --test-images=N (the test folder's first N; default all 1,000, and 250 for flow matching, which
// scores an image by an ODE with a Hutchinson trace, 16 network passes with their backward passes).
// Every run validates on 100 images every 500 steps and at the time marks: flow matching's
// validation is the costly one, and what it costs counts in its minutes as it would in the app.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toPixels, writeImageGrid } from '../main/engine/data/index.ts';
import type { ModelConfig } from '../main/engine/models/config.ts';
import { Rng } from '../main/engine/random.ts';
import { runtimeFor } from '../main/engine/runtime/runtime-for.ts';
import { trainableCount, trainAndScore } from './train-and-score.ts';

type Emit = (obj: object) => void;

const IMAGE = { size: 32, channels: 3 } as const;
/** Shapes near Glow L3 K4 h128's 0.81M parameters (each line prints its own count), then the variants tried beside them. */
const MODELS: Record<string, ModelConfig> = {
  glow: { kind: 'glow', ...IMAGE, levels: 3, depth: 4, hidden: 128 },
  // A spline coupling's network outputs 3 x bins + 1 values per transformed one: a narrower network.
  'glow-spline': { kind: 'glow', ...IMAGE, levels: 3, depth: 4, hidden: 48, coupling: 'spline', bins: 4, tailBound: 3 },
  realnvp: { kind: 'realnvp', ...IMAGE, levels: 3, depth: 4, hidden: 128 },
  tarflow: { kind: 'tarflow', ...IMAGE, patch: 4, depth: 4, hidden: 128, attnLayers: 1, headDim: 64 },
  'flow-matching': { kind: 'flow-matching', ...IMAGE, levels: 2, depth: 2, hidden: 32 },
  'glow-spline-h128-b8': { kind: 'glow', ...IMAGE, levels: 3, depth: 4, hidden: 128, coupling: 'spline', bins: 8, tailBound: 3 },
  'realnvp-d2': { kind: 'realnvp', ...IMAGE, levels: 3, depth: 2, hidden: 128 },
  'tarflow-p2': { kind: 'tarflow', ...IMAGE, patch: 2, depth: 4, hidden: 128, attnLayers: 1, headDim: 64 },
};
const DEFAULT_MODELS = ['glow', 'glow-spline', 'realnvp', 'tarflow', 'flow-matching'];
const SETTINGS = { batch: 32, lr: 1e-3, warmup: 200, valImages: 100, evalEvery: 500 };
/** Test images scored where --test-images is not given: flow matching's first 250 (about 0.6 s each here). */
const FLOW_MATCHING_TEST_IMAGES = 250;
/** A step count no run reaches in its minutes. */
const UNTIL_TIME_ENDS = 1_000_000;
const GRID = 64;

function option(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
}

export async function equalMinutesBench(args: string[], emit: Emit): Promise<void> {
  const minutes = Number(option(args, 'equal-minutes') ?? 10);
  if (!(minutes > 0)) throw new Error(`--equal-minutes takes minutes above 0, e.g. --equal-minutes=10`);
  const names = option(args, 'models')?.split(',') ?? DEFAULT_MODELS;
  const unknown = names.filter((n) => !(n in MODELS));
  if (unknown.length > 0) throw new Error(`--models: unknown ${unknown.join(', ')}; choose from ${Object.keys(MODELS).join(', ')}`);
  const seed = Number(option(args, 'seed') ?? 0);
  const testImagesOption = option(args, 'test-images') === undefined ? undefined : Number(option(args, 'test-images'));
  const datasets = resolve(option(args, 'datasets') ?? join(dirname(fileURLToPath(import.meta.url)), '../../shared/datasets'));
  const out = option(args, 'out') ?? (await mkdtemp(join(tmpdir(), 'flowdesk-equal-minutes-')));
  await mkdir(out, { recursive: true });
  for (const name of names) {
    const work = await mkdtemp(join(tmpdir(), 'flowdesk-equal-minutes-run-'));
    try {
      const config = MODELS[name];
      const testImages = testImagesOption ?? (config.kind === 'flow-matching' ? FLOW_MATCHING_TEST_IMAGES : undefined);
      const temperature = config.kind === 'flow-matching' ? 1 : 0.7;
      const grid = join(out, `${name}-${minutes}min.png`);
      let params = 0;
      const scored = await trainAndScore(
        config,
        { ...SETTINGS, steps: UNTIL_TIME_ENDS, minutes, seed },
        join(datasets, 'cifar10', 'train'),
        join(datasets, 'cifar10', 'test'),
        work,
        async (model, nBits) => {
          params = trainableCount(model);
          const images = await runtimeFor(model).sample(GRID, temperature, new Rng(seed));
          await writeImageGrid(grid, toPixels(images, nBits), GRID, IMAGE.size, IMAGE.channels);
        },
        testImages,
      );
      emit({
        bench: 'equal-minutes', model: name, minutes, params, test_images: testImages ?? 'all', test_bpd: Math.round(scored.bpd * 1e4) / 1e4,
        test_bpd_se: scored.standardError === null ? null : Math.round(scored.standardError * 1e4) / 1e4, steps: scored.steps,
        seconds: Math.round(scored.seconds), weights: scored.weights, grid, temperature, load: Math.round(loadavg()[0] * 100) / 100,
      });
    } catch (err) {
      emit({ bench: 'equal-minutes', model: name, minutes, failed: (err as Error).message });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}
