// `npm run bench`: what users get, as one JSON object per line, in a process with the app's malloc settings. With no `--backends` it times
// the backend `auto` picks (the one the app and CLI use here) first, then each one after it in
// auto's order that loads, except plain cpu (about 100x slower than wasm), which runs only when
// named, as does a software WebGPU adapter. Per backend: training images/s for Glow on 32x32x3
// (batch 32, L=3) at (K=4, hidden 128) and (K=8, hidden 256): 7 turns of two steps each side,
// FlowDesk's then bench/pytorch_glow.py's on the same configuration (bench/torch-steps.ts), the
// second step of each turn timed; each train line with PyTorch's img/s, our ratio, the load
// average and the CPU time each side's process used during the other's timed step; the latency to sample 64 images (on onnx, onnxruntime's) and to
// encode 1,000, at K=8, hidden 256; evaluation's images/s (bits per dim in batches of 64, as
// `flowdesk eval` and validation run it) beside PyTorch's forward pass; then preprocessing
// throughput over 1,000 JPEGs (and its CPU time an image), a cached import of 10,000, and peak
// RSS. `--quick` times the small configuration only and skips encoding and evaluation (30 s on 2
// idle cores);
// `--backends=onnx,wasm` names backends, in order; `--repeat=N` runs each training configuration
// N times, ours and PyTorch in turn, and prints the median ratio (3 by default, 1 with --quick);
// `--threads=N` sets the threads a step or a sample batch is split across (defaults to min(2,
// cores), as training does), PyTorch's too; with `--threads=1` each train line also compares the
// median step's process CPU time (`cpu_ratio`, PyTorch's over ours), which other work on a shared
// machine barely moves; `--no-pytorch` skips the reference; `--all` also times K=8 on plain
// cpu (tens of minutes a step); `--only=preprocess,eval` runs only the named lines (train,
// sample, encode, eval, preprocess, latency, chart, package: the size of `npm pack`'s tarball); `--only=tarflow` (not run by default) times TarFlow on 32x32x3 at about Glow K=4, hidden 128's
// parameter count (p=4, B=4, width 128, one layer, head 64) beside bench/pytorch_tarflow.py,
// each line with both parameter counts. `latency`: how long a 36-image sample grid takes
// while the small and the medium Glow train on 32x32 colour images in the app's worker
// (bench/latency.ts), median and max, beside the same grid once paused. `--quality` instead
// trains to compare test bits per dim with PyTorch's (bench/quality.ts); `--equal-minutes` trains each image model kind
// for the same minutes on the CIFAR-10 subset (bench/equal-minutes.ts); `--lab` trains every Lab
// family on the toy targets for the Lab's figures (bench/lab.ts); `--restore` measures super-resolution
// and inpainting against their baselines (bench/restore.ts).
import './with-malloc-settings.ts';
import { spawnSync } from 'node:child_process';
import { trainableCount } from './train-and-score.ts';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '../main/engine/tf.ts';
import { BACKEND_NAMES, initBackend, type BackendName } from '../main/engine/backend.ts';
import { importImageFolder, type ImageSet } from '../main/engine/data/index.ts';
import type { ModelConfig } from '../main/engine/models/config.ts';
import { createModel } from '../main/engine/models/create-model.ts';
import type { FlowModel } from '../main/engine/models/flow-model.ts';
import { Rng } from '../main/engine/random.ts';
import { runtimeFor } from '../main/engine/runtime/runtime-for.ts';
import { Optimizer, resolveOptimizerConfig } from '../main/engine/train/optimizer.ts';
import { bitsPerDimOfSet } from '../main/engine/train/evaluate.ts';
import { stepSource } from '../main/engine/train/step-source.ts';
import { resolveTrainConfig } from '../main/engine/train/train-config.ts';
import type { PresetName } from '../common/settings/presets.ts';
import { chartSpeed } from './chart.ts';
import { gridLatencyWhileTraining } from './latency.ts';
import { packageSize } from './package-size.ts';
import { findTorchPython } from './torch-python.ts';
import { referenceCommand, startTorchStepper, type TorchStep, type TorchStepper } from './torch-steps.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const all = args.includes('--all');
const backendArg = args.find((a) => a.startsWith('--backends='))?.split('=')[1];
const threadsArg = args.some((a) => a.startsWith('--threads=')) ? Number(args.find((a) => a.startsWith('--threads='))!.split('=')[1]) : null;
const withPytorch = !args.includes('--no-pytorch');
const only = args.find((a) => a.startsWith('--only='))?.split('=')[1].split(',');
const BENCH_PARTS = ['train', 'sample', 'encode', 'eval', 'preprocess', 'latency', 'chart', 'package'];
/** Lines run only when --only names them. */
const NAMED_PARTS = ['tarflow'];
const unknownPart = only?.find((p) => !BENCH_PARTS.includes(p) && !NAMED_PARTS.includes(p));
if (unknownPart) throw new Error(`--only names ${unknownPart}; choose from ${[...BENCH_PARTS, ...NAMED_PARTS].join(', ')}`);
const wants = (part: string): boolean => (NAMED_PARTS.includes(part) ? only?.includes(part) === true : !only || only.includes(part));
/** Turns a side takes in a round of a training configuration (after one warm-up step each), timing one step in each. */
const TRAIN_STEPS = 7;
/** Interleaved FlowDesk/PyTorch rounds per training configuration: 3, or 1 with --quick. */
const repeat = Number(args.find((a) => a.startsWith('--repeat='))?.split('=')[1] ?? (quick ? 1 : 3));
const emit = (obj: object): void => {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
};
if (args.includes('--quality')) {
  const { qualityBench } = await import('./quality.ts');
  await qualityBench(args, emit);
  process.exit(0);
}
if (args.some((a) => a === '--equal-minutes' || a.startsWith('--equal-minutes='))) {
  const { equalMinutesBench } = await import('./equal-minutes.ts');
  await equalMinutesBench(args, emit);
  process.exit(0);
}
if (args.includes('--restore')) {
  const { restoreBench } = await import('./restore.ts');
  await restoreBench(args, emit);
  process.exit(0);
}
if (args.includes('--lab')) {
  const { labBench } = await import('./lab.ts');
  await labBench(args, emit);
  process.exit(0);
}

const SIZE = 32;
const CHANNELS = 3 as const;
const BATCH = 32;
const LEVELS = 3;

/** Whether `name` loads here; says why not on its own line. Software WebGPU is only timed when named. */
async function loads(name: BackendName, named: boolean): Promise<boolean> {
  try {
    const report = await initBackend({ force: name });
    if (report.adapter?.software && !named) {
      emit({ bench: 'backend', backend: name, available: false, reason: `only a software adapter (${report.adapter.description}); name it in --backends to time it` });
      return false;
    }
    return true;
  } catch (err) {
    emit({ bench: 'backend', backend: name, available: false, reason: (err as Error).message });
    return false;
  }
}

/**
 * The backends to time, in order: those named, else auto's choice and then every later one in
 * auto's order that loads, but plain cpu (the earlier ones auto tried, and its line says why not).
 */
async function backendsToTime(): Promise<BackendName[]> {
  const named = backendArg?.split(',') as BackendName[] | undefined;
  const ok: BackendName[] = [];
  if (named) {
    for (const name of named) if (await loads(name, true)) ok.push(name);
    return ok;
  }
  const auto = await initBackend();
  emit({ bench: 'backend', backend: auto.name, auto: true, skipped: auto.skipped });
  ok.push(auto.name);
  for (const name of BACKEND_NAMES.slice(BACKEND_NAMES.indexOf(auto.name) + 1)) {
    if (name !== 'cpu' && (await loads(name, false))) ok.push(name);
  }
  return ok;
}

/** Glow on the benchmark's images at (K, hidden). */
function glowConfig(depth: number, hidden: number): ModelConfig {
  return { kind: 'glow', size: SIZE, channels: CHANNELS, levels: LEVELS, depth, hidden };
}

/**
 * TarFlow on the benchmark's images, about Glow K=4, hidden 128's parameter count. Built from a
 * plain object: the kind joins ModelConfig with FlowDesk's TarFlow (until then createModel refuses it).
 */
const TARFLOW_CONFIG = { kind: 'tarflow', size: SIZE, channels: CHANNELS, patch: 4, depth: 4, hidden: 128, attnLayers: 1, headDim: 64 } satisfies ModelConfig;

/** A model of the benchmark's shape with its data-dependent layers (ActNorm) initialised from random images. */
function benchModel(config: ModelConfig, rng: Rng): FlowModel {
  const model = createModel(config, 0);
  tf.tidy(() => model.initialise(tf.tensor4d(randomImages(BATCH, rng), [BATCH, SIZE, SIZE, CHANNELS])));
  return model;
}


/** The trainable parameters of Glow K=4, hidden 128: what the TarFlow line's configuration is sized against. */
function glowSmallCount(): number {
  const model = createModel(glowConfig(4, 128), 0);
  const count = trainableCount(model);
  model.dispose();
  return count;
}

function randomImages(n: number, rng: Rng): Float32Array {
  // Shifted as drawn: a typed array's map boxes every value, megabytes of garbage a step.
  return rng.fillUniform(new Float32Array(n * SIZE * SIZE * CHANNELS), 1, -0.5);
}

/**
 * Resolves once this process has used under a tenth of a core for 25 ms (or after 3 s): the
 * garbage collection a step's allocations started (V8 marks and compacts on other threads and
 * while the main thread waits) is over, so none of it runs beside PyTorch's steps.
 */
async function settled(): Promise<void> {
  for (const end = performance.now() + 3000; performance.now() < end; ) {
    const start = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 25));
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 < 2.5) return;
  }
}

/** Medians of one side's steps: images/s from the median step, and the median step's process CPU time. */
interface SideSpeed {
  imgPerSec: number;
  cpuMs: number;
}

/**
 * Training steps as the trainer takes them (its step source for the backend, clipped Adam update
 * included), in turns with `torch`'s when given: both sides' medians, and the CPU time each side's
 * process used during the other's timed step (near 0: nothing of one side runs beside the other).
 */
async function trainSpeed(config: ModelConfig, backend: BackendName, steps: number, torch: TorchStepper | null): Promise<{ ours: SideSpeed; theirs: SideSpeed | null; line: Record<string, unknown> }> {
  const rng = new Rng(1);
  const model = benchModel(config, rng);
  const params = trainableCount(model);
  const optimizer = new Optimizer(resolveOptimizerConfig({}), model.params.variables);
  const cfg = resolveTrainConfig({ batch: BATCH, threads: threadsArg });
  const t0 = performance.now();
  const source = await stepSource(runtimeFor(model, { backend, threads: threadsArg }), cfg, optimizer);
  const setupMs = performance.now() - t0;
  const step = () => source.update(randomImages(BATCH, rng));
  await step(); // warm-up: threads, kernel set-up and first allocations
  const times: number[] = [];
  const cpu: number[] = [];
  const theirs: TorchStep[] = [];
  const idleCpu: number[] = [];
  // Each side takes two steps in its turn and times the second: what the first leaves running (a
  // garbage collection, threads spinning down) lands in that side's own timed step, as in
  // training; what the second leaves running ends before PyTorch's turn (settled).
  for (let i = 0; i < steps; i++) {
    await step();
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    await step();
    times.push((performance.now() - t1) / 1000);
    const used = process.cpuUsage(c1);
    cpu.push((used.user + used.system) / 1000);
    if (!torch) continue;
    await settled();
    await torch.step();
    const c2 = process.cpuUsage();
    theirs.push(await torch.step());
    const idle = process.cpuUsage(c2);
    idleCpu.push((idle.user + idle.system) / 1000);
  }
  await source.dispose();
  optimizer.dispose();
  model.dispose();
  // Median steps: robust to other work on a shared machine.
  const ours = { imgPerSec: BATCH / median(times), cpuMs: median(cpu) };
  const line = { bench: 'train', ...configFields(config), params, batch: BATCH, backend, threads: source.threads, steps, setup_ms: round(setupMs), img_per_s: round(ours.imgPerSec), cpu_ms: round(ours.cpuMs) };
  if (!torch) return { ours, theirs: null, line };
  const pytorch = { imgPerSec: BATCH / median(theirs.map((t) => t.seconds)), cpuMs: median(theirs.map((t) => t.cpuMs)) };
  const idle = { idle_cpu_ms: round(median(idleCpu)), pytorch_idle_cpu_ms: round(median(theirs.map((t) => t.idleCpuMs))) };
  return { ours, theirs: pytorch, line: { ...line, pytorch_img_per_s: round(pytorch.imgPerSec), pytorch_threads: torch.threads, torch: torch.torch, ...idle } };
}

const torchPython = withPytorch ? findTorchPython() : { reason: 'skipped with --no-pytorch' };

/** A config as a line's fields: `model` for its kind, then its settings as given. */
function configFields(config: ModelConfig): Record<string, unknown> {
  const { kind, ...settings } = config;
  return { model: kind, ...settings };
}

/** bench/pytorch_<kind>.py's bits per dim alone at `batch` for the same configuration, over `steps` batches, or why it did not run. */
function pytorchForwardSpeed(config: ModelConfig, steps: number, batch: number): { imgPerSec: number; threads: number } | { reason: string } {
  if (!('python' in torchPython)) return torchPython;
  const { file, args } = referenceCommand(config, 'forward-speed', { batch, steps, threads: threadsArg ?? availableParallelism() });
  const run = spawnSync(torchPython.python, args, { encoding: 'utf8', timeout: 600_000 });
  const last = run.stdout?.trim().split('\n').pop();
  if (run.status !== 0 || !last) return { reason: `${file} failed: ${(run.stderr || String(run.error ?? run.status)).trim().split('\n').pop()}` };
  const out = JSON.parse(last) as { img_per_s: number; threads: number };
  return { imgPerSec: out.img_per_s, threads: out.threads };
}

/**
 * Ours and PyTorch on one configuration, a step of each in turn (torch-steps.ts), `repeat` rounds
 * with a fresh model and process each: one line per round, then (with more than one) the median ratio.
 */
async function trainAndCompare(config: ModelConfig, backend: BackendName, steps: number, extra: Record<string, unknown> = {}): Promise<void> {
  const ratios: number[] = [];
  // With one thread each, process CPU time per step is work done, which other load on the
  // machine barely moves (with more, both sides' spinning thread pools count too).
  const cpuRatios: number[] = [];
  for (let pass = 1; pass <= repeat; pass++) {
    const torch = 'python' in torchPython ? await startTorchStepper(torchPython.python, config, { batch: BATCH, threads: threadsArg ?? availableParallelism() }) : torchPython;
    const stepper = 'reason' in torch ? null : torch;
    try {
      const { ours, theirs, line } = await trainSpeed(config, backend, steps, stepper);
      const load = round(loadavg()[0]);
      if ('reason' in torch || !theirs) {
        emit({ ...line, ...extra, round: pass, load, pytorch_skipped: 'reason' in torch ? torch.reason : 'no PyTorch steps' });
        continue;
      }
      ratios.push(ours.imgPerSec / theirs.imgPerSec);
      const cpu = threadsArg === 1 ? { pytorch_cpu_ms: round(theirs.cpuMs), cpu_ratio: round(theirs.cpuMs / ours.cpuMs, 3) } : {};
      if (threadsArg === 1) cpuRatios.push(theirs.cpuMs / ours.cpuMs);
      emit({ ...line, ...extra, round: pass, load, ratio: round(ratios.at(-1)!, 3), ...cpu });
    } finally {
      await stepper?.close();
    }
  }
  const cpuMedian = cpuRatios.length > 1 ? { cpu_ratios: cpuRatios.map((r) => round(r, 3)), median_cpu_ratio: round(median(cpuRatios), 3) } : {};
  if (ratios.length > 1) emit({ bench: 'train-ratio', ...configFields(config), backend, rounds: ratios.length, ratios: ratios.map((r) => round(r, 3)), median_ratio: round(median(ratios), 3), ...cpuMedian });
}

/** The TarFlow train line beside PyTorch's, with Glow K=4, hidden 128's count; or why FlowDesk could not build or train it on `backend`. */
async function tarflowAndCompare(backend: BackendName, steps: number): Promise<void> {
  try {
    await trainAndCompare(TARFLOW_CONFIG, backend, steps, { glow_k4_h128_params: glowSmallCount() });
  } catch (err) {
    emit({ bench: 'train', ...configFields(TARFLOW_CONFIG), backend, skipped: (err as Error).message });
  }
}

/** 64 images at temperature 0.7 as the app, the CLI and training's grids draw them (runtime.sample). */
async function sampleLatency(depth: number, hidden: number, backend: BackendName): Promise<void> {
  const model = benchModel(glowConfig(depth, hidden), new Rng(2));
  const runtime = runtimeFor(model, { backend, threads: threadsArg });
  const draw = () => runtime.sample(64, 0.7, new Rng(0));
  const t0 = performance.now();
  await draw(); // the first call sets up threads, kernels or (onnx) traces and opens a session
  const firstMs = performance.now() - t0;
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t1 = performance.now();
    await draw();
    times.push(performance.now() - t1);
  }
  emit({ bench: 'sample', n: 64, size: SIZE, depth, hidden, backend, runs_on: runtime.kind === 'onnx' ? 'onnxruntime' : `${runtime.kind} on tfjs ${tf.getBackend()}`, ms: round(median(times)), first_call_ms: round(firstMs) });
  model.dispose();
}

/** Latents of 1,000 images in batches of 64, as the explorer encodes them (runtime.encode). */
async function encodeSpeed(depth: number, hidden: number, backend: BackendName): Promise<void> {
  const rng = new Rng(3);
  const model = benchModel(glowConfig(depth, hidden), rng);
  const images = 1000;
  const batch = 64;
  const x = randomImages(images, rng);
  const per = SIZE * SIZE * CHANNELS;
  const runtime = runtimeFor(model, { backend, threads: threadsArg });
  const encodeBatch = async (start: number) => {
    const n = Math.min(batch, images - start);
    const zs = await runtime.encode(x.subarray(start * per, (start + n) * per), n);
    for (const z of zs) z.dataSync();
    tf.dispose(zs);
  };
  const t0 = performance.now();
  await encodeBatch(0); // warm-up: threads, kernels or (onnx) the trace and session
  const firstMs = performance.now() - t0;
  const t1 = performance.now();
  for (let start = 0; start < images; start += batch) await encodeBatch(start);
  const ms = performance.now() - t1;
  emit({ bench: 'encode', images, size: SIZE, depth, hidden, batch, backend, ms: round(ms), img_per_s: round((images * 1000) / ms), first_call_ms: round(firstMs) });
  model.dispose();
}

/** Bits per dim of 1,000 images in batches of 64, as `flowdesk eval` and validation run it, beside PyTorch's forward pass. */
async function evalSpeed(depth: number, hidden: number, backend: BackendName): Promise<void> {
  const rng = new Rng(4);
  const model = benchModel(glowConfig(depth, hidden), rng);
  const images = 1000;
  const batch = 64;
  const pixels = Uint8Array.from(rng.fillUniform(new Float32Array(images * SIZE * SIZE * CHANNELS), 256), Math.floor);
  const set: ImageSet = { size: SIZE, channels: CHANNELS, count: images, pixels, paths: [], labels: null, classes: [] };
  const t0 = performance.now();
  await bitsPerDimOfSet(model, set, { batch, limit: batch }); // warm-up: threads, kernels or (onnx) the trace and session
  const firstMs = performance.now() - t0;
  const t1 = performance.now();
  await bitsPerDimOfSet(model, set, { batch });
  const imgPerSec = (images * 1000) / (performance.now() - t1);
  model.dispose();
  const line = { bench: 'eval', images, size: SIZE, depth, hidden, batch, backend, img_per_s: round(imgPerSec), first_call_ms: round(firstMs) };
  const torch = pytorchForwardSpeed(glowConfig(depth, hidden), 5, batch);
  if ('reason' in torch) return emit({ ...line, pytorch_skipped: torch.reason });
  emit({ ...line, pytorch_forward_img_per_s: round(torch.imgPerSec), pytorch_threads: torch.threads, ratio: round(imgPerSec / torch.imgPerSec, 3) });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * An import of 1,000 48 x 48 JPEGs to 32 x 32 without the cache; then a second import of 10,000
 * (those ten times over), which the cache answers: what a person waits for the next time.
 */
async function preprocessSpeed(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'flowdesk-bench-'));
  try {
    const rng = new Rng(5);
    await mkdir(join(dir, 'first'));
    for (let i = 0; i < 1000; i++) {
      const raw = Buffer.from(rng.fillUniform(new Float32Array(48 * 48 * 3), 256).map(Math.floor));
      await sharp(Uint8Array.from(raw), { raw: { width: 48, height: 48, channels: 3 } }).jpeg().toFile(join(dir, 'first', `${i}.jpg`));
    }
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await importImageFolder(join(dir, 'first'), { size: SIZE, channels: CHANNELS, cacheDir: null });
    const cold = (performance.now() - t0) / 1000;
    // The process's CPU time, all threads: other work on the machine moves it far less than img/s.
    const cpu = process.cpuUsage(cpu0);
    const many = join(dir, 'many');
    for (let copy = 0; copy < 10; copy++) {
      await mkdir(join(many, `${copy}`), { recursive: true });
      for (let i = 0; i < 1000; i++) await writeFile(join(many, `${copy}`, `${i}.jpg`), await readFile(join(dir, 'first', `${i}.jpg`)));
    }
    const cacheDir = join(dir, 'cache');
    await importImageFolder(many, { size: SIZE, channels: CHANNELS, cacheDir });
    const t1 = performance.now();
    await importImageFolder(many, { size: SIZE, channels: CHANNELS, cacheDir });
    emit({ bench: 'preprocess', images: 1000, format: 'jpeg', size: SIZE, img_per_s: round(1000 / cold), cpu_ms_per_img: round((cpu.user + cpu.system) / 1e6, 3), cached_import_images: 10_000, cached_import_ms: round(performance.now() - t1) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function round(v: number, digits = 2): number {
  return Math.round(v * 10 ** digits) / 10 ** digits;
}

const configs = quick ? [[4, 128]] : [[4, 128], [8, 256]];
for (const backend of wants('train') || wants('tarflow') || wants('sample') || wants('encode') || wants('eval') ? await backendsToTime() : []) {
  await initBackend({ force: backend });
  const measured = backend === 'cpu' && !all ? configs.slice(0, 1) : configs;
  for (const [depth, hidden] of wants('train') ? measured : []) {
    // One timed step is enough to rank plain cpu.
    await trainAndCompare(glowConfig(depth, hidden), backend, backend === 'cpu' ? 1 : TRAIN_STEPS);
  }
  if (wants('train') && measured.length < configs.length) emit({ bench: 'train', backend, skipped: 'depth 8, hidden 256 takes tens of minutes per step on plain cpu; run with --all to time it' });
  if (wants('tarflow')) await tarflowAndCompare(backend, backend === 'cpu' ? 1 : TRAIN_STEPS);
  if (backend === 'cpu' && !all) continue;
  // Inference at the largest model timed: K=8, hidden 256, or with --quick K=4, hidden 128 and
  // no encoding (1,000 images at K=8 take about a minute per backend on a busy 2-core machine).
  const [depth, hidden] = configs[configs.length - 1];
  if (wants('sample')) await sampleLatency(depth, hidden, backend);
  if (!quick && wants('encode')) await encodeSpeed(depth, hidden, backend);
  if (!quick && wants('eval')) await evalSpeed(depth, hidden, backend);
}
if (wants('preprocess')) await preprocessSpeed();
// The app's own worker and backend (auto), so --backends does not apply; --quick times small only.
for (const preset of wants('latency') ? (quick ? ['small'] : ['small', 'medium']) as PresetName[] : []) emit(await gridLatencyWhileTraining(preset));
if (wants('chart')) emit(await chartSpeed());
if (wants('package')) emit(packageSize());
emit({ bench: 'memory', peak_rss_mb: round(process.resourceUsage().maxRSS / 1024) });
