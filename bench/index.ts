// `npm run bench`: prints one JSON object per line — training images/s for Glow on 32x32x3
// (batch 32, L=3) at (K=4, hidden 128) and (K=8, hidden 256) on every backend that loads,
// the latency to sample 64 images, preprocessing throughput over 1,000 JPEGs, and peak RSS.
// `--quick` runs the small configuration only; `--backends=wasm,cpu` picks backends. Plain cpu
// (about 100x slower than wasm) times only the small configuration unless `--all` is given.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '../main/engine/tf.ts';
import { initBackend, type BackendName } from '../main/engine/backend.ts';
import { importImageFolder } from '../main/engine/data/index.ts';
import { createModel } from '../main/engine/models/create-model.ts';
import { Rng } from '../main/engine/random.ts';
import { autoMicroBatch, batchGradients } from '../main/engine/train/gradients.ts';
import { Optimizer, resolveOptimizerConfig } from '../main/engine/train/optimizer.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const all = args.includes('--all');
const backendArg = args.find((a) => a.startsWith('--backends='))?.split('=')[1];
const emit = (obj: object) => process.stdout.write(`${JSON.stringify(obj)}\n`);

const SIZE = 32;
const CHANNELS = 3;
const BATCH = 32;
const LEVELS = 3;

async function loadableBackends(): Promise<BackendName[]> {
  const wanted = (backendArg?.split(',') ?? ['node-gpu', 'node', 'wasm', 'cpu']) as BackendName[];
  const ok: BackendName[] = [];
  for (const name of wanted) {
    try {
      await initBackend({ force: name });
      ok.push(name);
    } catch (err) {
      emit({ bench: 'backend', backend: name, available: false, reason: (err as Error).message });
    }
  }
  return ok;
}

function trainSpeed(depth: number, hidden: number, backend: BackendName, steps: number): number {
  const model = createModel({ kind: 'glow', size: SIZE, channels: CHANNELS, levels: LEVELS, depth, hidden }, 0);
  const rng = new Rng(1);
  const batch = () => rng.fillUniform(new Float32Array(BATCH * SIZE * SIZE * CHANNELS)).map((v) => v - 0.5);
  tf.tidy(() => model.initialise(tf.tensor4d(batch(), [BATCH, SIZE, SIZE, CHANNELS])));
  const optimizer = new Optimizer(resolveOptimizerConfig({}), model.params.variables);
  const microBatch = autoMicroBatch(model.config, BATCH);
  const step = () => {
    const { grads } = batchGradients(model, batch(), BATCH, 8, microBatch);
    optimizer.apply(grads, Optimizer.gradNorm(grads));
    tf.dispose(Object.values(grads));
  };
  step(); // warm-up: kernel compilation and first allocations
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const seconds = (performance.now() - t0) / 1000;
  const imgPerSec = (steps * BATCH) / seconds;
  emit({ bench: 'train', model: 'glow', size: SIZE, channels: CHANNELS, levels: LEVELS, depth, hidden, batch: BATCH, micro_batch: microBatch, backend, steps, img_per_s: round(imgPerSec) });
  optimizer.dispose();
  model.dispose();
  return imgPerSec;
}

function sampleLatency(depth: number, hidden: number, backend: BackendName): void {
  const model = createModel({ kind: 'glow', size: SIZE, channels: CHANNELS, levels: LEVELS, depth, hidden }, 0);
  const draw = () => tf.tidy(() => model.sample(64, 0.7, new Rng(0)).dataSync());
  draw();
  const runs = 3;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) draw();
  emit({ bench: 'sample', n: 64, size: SIZE, depth, hidden, backend, ms: round((performance.now() - t0) / runs) });
  model.dispose();
}

async function preprocessSpeed(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'flowdesk-bench-'));
  try {
    const rng = new Rng(5);
    for (let i = 0; i < 1000; i++) {
      const raw = Buffer.from(rng.fillUniform(new Float32Array(48 * 48 * 3), 256).map(Math.floor));
      await sharp(Uint8Array.from(raw), { raw: { width: 48, height: 48, channels: 3 } }).jpeg().toFile(join(dir, `${i}.jpg`));
    }
    const t0 = performance.now();
    await importImageFolder(dir, { size: SIZE, channels: CHANNELS, cacheDir: null });
    const cold = (performance.now() - t0) / 1000;
    emit({ bench: 'preprocess', images: 1000, format: 'jpeg', size: SIZE, img_per_s: round(1000 / cold) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

const configs = quick ? [[4, 128]] : [[4, 128], [8, 256]];
for (const backend of await loadableBackends()) {
  await initBackend({ force: backend });
  const measured = backend === 'cpu' && !all ? configs.slice(0, 1) : configs;
  for (const [depth, hidden] of measured) {
    // One timed step is enough to rank plain cpu.
    trainSpeed(depth, hidden, backend, backend === 'cpu' ? 1 : 3);
  }
  if (backend === 'cpu' && !all && configs.length > 1) emit({ bench: 'train', backend, skipped: 'depth 8, hidden 256 takes tens of minutes per step on plain cpu; run with --all to time it' });
  const [depth, hidden] = measured[measured.length - 1];
  sampleLatency(depth, hidden, backend);
}
await preprocessSpeed();
emit({ bench: 'memory', peak_rss_mb: round(process.resourceUsage().maxRSS / 1024) });
