// `npm run bench -- --restore [--run DIR]`: super-resolution and inpainting by posterior sampling
// (no retraining) against honest baselines, on test images the model never saw. The model is a
// given run, or a Glow trained here for --minutes (3) on ../shared/datasets/<dataset>/train
// (mnist at 16x16 grey, or cifar10 at 32x32 colour). --images (20) of the test folder, spread
// evenly over it as imported, are degraded with a seed: box averages at each of --factors (2,4),
// and a square hole of half the side at a seeded place. One JSON line per task: PSNR and SSIM of
// the candidates' mean and of the best candidate (the original's pick) beside the baselines'
// (bicubic; mean-colour and diffusion fills), the candidates' diversity, and seconds per image.
// Strips of the first 8 images (original, degraded, baselines, candidates, mean) go to --out.
// Sampling settings: --samples, --steps, --step-size, --final-step-size, --temperature
// (common/restore-fields.ts defaults); --step-sizes=FIRST:LAST,... repeats every task for each pair.
// --way 2 (or both) adds rows from flows trained for each task (issue 17, way 2: restoreTask
// upscale-2, upscale-4, inpaint), on the same images and degradations: --run-upscale-2 DIR,
// --run-upscale-4 DIR and --run-inpaint DIR give them, else each is trained here for --minutes
// like way 1's Glow (same shape). Way 2 samples p(x | y) at the temperature (no Langevin steps), once.
import { mkdir, mkdtemp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { restoreDefaults, type RestoreSettings } from '../common/restore-fields.ts';
import { describeWeights } from '../common/weights.ts';
import { describeBackend, initBackend } from '../main/engine/backend.ts';
import { importAllImages, writeImageGrid } from '../main/engine/data/index.ts';
import type { ModelConfig } from '../main/engine/models/config.ts';
import { Rng } from '../main/engine/random.ts';
import { downsampleBox, upsampleNearest } from '../main/engine/restore/box-average.ts';
import { randomSquareMask, valueMask } from '../main/engine/restore/mask.ts';
import { upscaleTask, type RestoreTask } from '../main/engine/restore/observation.ts';
import { inpaint, restoreMethodOf, upscale, type Restoration, type Restorer } from '../main/engine/restore/restore.ts';
import { scoreRestoration, type Quality, type RestorationScores } from '../main/engine/restore/scores.ts';
import { loadModelFolder } from '../main/engine/runs/model-folder.ts';
import { train } from '../main/engine/train/trainer.ts';

type Emit = (obj: object) => void;

/** The Glow trained per dataset where no --run is given. */
const MODELS: Record<string, ModelConfig> = {
  mnist: { kind: 'glow', size: 16, channels: 1, levels: 2, depth: 4, hidden: 64 },
  cifar10: { kind: 'glow', size: 32, channels: 3, levels: 3, depth: 4, hidden: 128 },
};
/** Images per strip written to --out. */
const STRIP_IMAGES = 8;
/** Grey level the hole is drawn in on the strips' degraded column. */
const HOLE_GREY = 128;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i >= 0 && args[i + 1] !== undefined && !args[i + 1].startsWith('--')) return args[i + 1];
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function numberFrom(args: string[], name: string): number | undefined {
  const raw = option(args, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`--${name} takes a number, got ${JSON.stringify(raw)}`);
  return n;
}

/** The settings to run: the defaults with the options given, once per --step-sizes pair. */
function settingsFrom(args: string[]): RestoreSettings[] {
  const s = restoreDefaults();
  const pick = (name: string, fallback: number) => numberFrom(args, name) ?? fallback;
  const one: RestoreSettings = {
    samples: pick('samples', s.samples),
    steps: pick('steps', s.steps),
    stepSize: pick('step-size', s.stepSize),
    finalStepSize: pick('final-step-size', s.finalStepSize),
    temperature: pick('temperature', s.temperature),
    seed: pick('seed', s.seed),
  };
  const pairs = option(args, 'step-sizes');
  if (pairs === undefined) return [one];
  return pairs.split(',').map((pair) => {
    const [stepSize, finalStepSize] = pair.split(':').map(Number);
    if (!(stepSize > 0 && finalStepSize > 0)) throw new Error(`--step-sizes takes FIRST:LAST pairs, e.g. 1e-4:1e-6,3e-5:3e-7; got ${pair}`);
    return { ...one, stepSize, finalStepSize };
  });
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

function meanQuality(qs: Quality[]): { psnr: number; ssim: number } {
  return { psnr: round(mean(qs.map((q) => q.psnr))), ssim: round(mean(qs.map((q) => q.ssim)), 4) };
}

/** The task's line: every figure averaged over the images. */
function summary(task: Record<string, unknown>, scores: RestorationScores[], seconds: number[]): Record<string, unknown> {
  const baselines = Object.keys(scores[0].baselines);
  const spread = scores.map((s) => s.diversity).filter((d): d is number => d !== null);
  return {
    bench: 'restore',
    ...task,
    images: scores.length,
    mean: meanQuality(scores.map((s) => s.mean)),
    best: meanQuality(scores.map((s) => s.best)),
    candidate: meanQuality(scores.flatMap((s) => s.candidates)),
    baselines: Object.fromEntries(baselines.map((b) => [b, meanQuality(scores.map((s) => s.baselines[b]))])),
    diversity: spread.length > 0 ? round(mean(spread), 2) : null,
    s_per_image: round(mean(seconds), 1),
    load: round(loadavg()[0], 1),
  };
}

/** One strip row: original, degraded, baselines, candidates, mean. */
function stripRow(original: Uint8Array, degraded: Uint8Array, r: Restoration): Uint8Array[] {
  const per = original.length;
  return [original, degraded, ...Object.values(r.baselines), ...Array.from({ length: r.count }, (_, i) => r.candidates.subarray(i * per, (i + 1) * per)), r.mean];
}

async function writeStrip(path: string, rows: Uint8Array[][], size: number, channels: 1 | 3): Promise<void> {
  const images = rows.flat();
  const pixels = new Uint8Array(images.reduce((n, im) => n + im.length, 0));
  let at = 0;
  for (const im of images) {
    pixels.set(im, at);
    at += im.length;
  }
  await writeImageGrid(path, pixels, images.length, size, channels, rows[0].length);
}

/**
 * A run to restore with: the one given as --`flag`, or a Glow trained here for `minutes` on the
 * dataset's train folder, for `restoreTask` (none: way 1's unconditional model).
 */
async function modelRun(args: string[], flag: string, restoreTask: RestoreTask, dataset: string, datasets: string, work: string, emit: Emit): Promise<string> {
  const given = option(args, flag);
  if (given) return resolve(given);
  const minutes = numberFrom(args, 'minutes') ?? 3;
  const model = { ...MODELS[dataset], restoreTask } as ModelConfig;
  const t0 = performance.now();
  const run = await train({
    folder: join(datasets, dataset, 'train'),
    model,
    train: { batch: 32, lr: 1e-3, warmup: 200, steps: 1_000_000, minutes, valImages: 100, evalEvery: 500, seed: 0 },
    runsDir: work,
    cacheDir: join(work, 'cache'),
  });
  emit({ bench: 'restore-model', dataset, ...model, minutes, steps: run.step, seconds: round((performance.now() - t0) / 1000, 1), run: run.runDir });
  return run.runDir;
}

/** Way 2's flow for a task (upscale at `factor`, or inpaint when null): the restoreTask it is trained for. */
function taskOf(factor: number | null): RestoreTask {
  if (factor === null) return 'inpaint';
  if (factor === 2 || factor === 4) return upscaleTask(factor);
  throw new Error(`--factors: way 2 trains for 2 and 4 only, got ${factor}`);
}

/** What every task line needs: the model, the test images and where strips go. */
interface TaskContext {
  restorer: Restorer;
  dataset: string;
  weights: string;
  originals: Uint8Array[];
  out: string;
}

/** One task (upscale at `factor`, or inpaint when it is null) over every test image, as one line. */
async function runTask(ctx: TaskContext, settings: RestoreSettings, factor: number | null): Promise<Record<string, unknown>> {
  const { size, channels } = ctx.restorer.model.config;
  const scores: RestorationScores[] = [];
  const seconds: number[] = [];
  const rows: Uint8Array[][] = [];
  for (const [i, original] of ctx.originals.entries()) {
    const t0 = performance.now();
    let r: Restoration;
    let degraded: Uint8Array;
    if (factor !== null) {
      const layout = { n: 1, size, channels, factor };
      const small = Uint8Array.from(downsampleBox(original, layout), (v) => Math.round(v));
      r = await upscale(ctx.restorer, small, factor, settings);
      degraded = Uint8Array.from(upsampleNearest(small, layout));
    } else {
      const mask = randomSquareMask(size, new Rng(settings.seed * 1000 + i));
      r = await inpaint(ctx.restorer, original, mask, settings);
      const kept = valueMask(mask, channels);
      degraded = original.map((v, k) => (kept[k] ? v : HOLE_GREY));
    }
    seconds.push((performance.now() - t0) / 1000);
    scores.push(scoreRestoration(r, original, size, channels));
    if (i < STRIP_IMAGES) rows.push(stripRow(original, degraded, r));
  }
  const task = factor !== null ? `upscale-x${factor}` : 'inpaint';
  const method = restoreMethodOf(ctx.restorer.model);
  const name = method === 'conditional' ? `${ctx.dataset}-${task}-conditional-t${settings.temperature}` : `${ctx.dataset}-${task}-${settings.stepSize}-${settings.finalStepSize}`;
  const strip = join(ctx.out, `${name}.png`);
  await writeStrip(strip, rows, size, channels);
  return summary({ task, method, dataset: ctx.dataset, model: ctx.restorer.model.config.kind, weights: ctx.weights, ...settings, strip }, scores, seconds);
}

export async function restoreBench(args: string[], emit: Emit): Promise<void> {
  const dataset = option(args, 'dataset') ?? 'mnist';
  if (!(dataset in MODELS)) throw new Error(`--dataset: choose ${Object.keys(MODELS).join(' or ')}, got ${dataset}`);
  const datasets = resolve(option(args, 'datasets') ?? join(dirname(fileURLToPath(import.meta.url)), '../../shared/datasets'));
  const count = numberFrom(args, 'images') ?? 20;
  const factors = (option(args, 'factors') ?? '2,4').split(',').map(Number);
  const tasks = (option(args, 'tasks') ?? 'upscale,inpaint').split(',');
  const runs = settingsFrom(args);
  const work = option(args, 'work') ?? (await mkdtemp(join(tmpdir(), 'flowdesk-restore-bench-')));
  const out = option(args, 'out') ?? work;
  const way = option(args, 'way') ?? '1';
  if (!['1', '2', 'both'].includes(way)) throw new Error(`--way: choose 1, 2 or both, got ${way}`);
  await mkdir(out, { recursive: true });
  emit({ bench: 'backend', backend: describeBackend(await initBackend()) });
  /** The test images at a model's shape: the same for every model of that shape. */
  const originalsOf = async (size: number, channels: 1 | 3): Promise<Uint8Array[]> => {
    const { set } = await importAllImages(join(datasets, dataset, 'test'), { size, channels, cacheDir: join(work, 'cache') });
    const per = size * size * channels;
    // Spread over the folder (sorted by path, so its first images are one class's).
    const picked = Array.from({ length: Math.min(count, set.count) }, (_, i) => Math.floor((i * set.count) / Math.min(count, set.count)));
    return picked.map((i) => set.pixels.subarray(i * per, (i + 1) * per));
  };
  /** Runs `each` with the model of run `dir`, then frees it. */
  const withModel = async (dir: string, each: (ctx: TaskContext) => Promise<void>): Promise<void> => {
    const loaded = await loadModelFolder(dir);
    try {
      const originals = await originalsOf(loaded.model.config.size, loaded.model.config.channels as 1 | 3);
      await each({ restorer: { model: loaded.model, nBits: loaded.json.nBits }, dataset, weights: describeWeights(loaded.weights), originals, out });
    } finally {
      loaded.model.dispose();
    }
  };
  const jobs = tasks.flatMap((task) => (task === 'upscale' ? factors : [null]));
  if (way !== '2') {
    await withModel(await modelRun(args, 'run', 'none', dataset, datasets, work, emit), async (ctx) => {
      for (const settings of runs) for (const factor of jobs) emit(await runTask(ctx, settings, factor));
    });
  }
  if (way === '1') return;
  // Way 2 has no Langevin steps: each task's model samples once, at the first settings' temperature and seed.
  for (const factor of jobs) {
    const task = taskOf(factor);
    await withModel(await modelRun(args, `run-${task}`, task, dataset, datasets, work, emit), async (ctx) => emit(await runTask(ctx, runs[0], factor)));
  }
}
