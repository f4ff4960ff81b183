// How long a person waits for a 36-image sample grid while a run trains (issue 14, point 1):
// the worker is started as the app starts it (browser mode's forked worker, backend `auto`),
// trains a Glow preset on 32x32 colour images with the default training settings, and is asked
// for grids as a person asks: a burst (a dragged slider: the trainer holds between the grids,
// main/worker/interactive-first.ts) and lone grids seconds apart, which arrive while a step
// runs; then the same grids once the run is paused, for comparison.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { defaultTrainSettings, presetModel, type PresetName } from '../common/settings/presets.ts';
import type { AppEvent, Result } from '../preload/api.ts';
import { Rng } from '../main/engine/random.ts';
import { WorkerHost } from '../main/worker/host.ts';
import { nodeWorker } from '../main/worker/node-worker.ts';

const SIZE = 32;
const IMAGES = 256;
/** Grids of a burst, and the pause between them (a person drags, looks, drags). */
const GRIDS = 10;
const GAP_MS = 300;
/** Lone grids, each asked once training has gone on for a while (past the gate's hold and a step). */
const LONE = 4;
const LONE_GAP_MS = 4000;

async function writeImages(dir: string): Promise<void> {
  const rng = new Rng(11);
  for (let i = 0; i < IMAGES; i++) {
    const raw = Uint8Array.from(rng.fillUniform(new Float32Array(SIZE * SIZE * 3), 256), Math.floor);
    await sharp(raw, { raw: { width: SIZE, height: SIZE, channels: 3 } }).png().toFile(join(dir, `${i}.png`));
  }
}

function ok<T>(r: Result<T>, what: string): T {
  if (!r.ok) throw new Error(`${what}: ${r.error.message}`);
  return r.value;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One bench line: median and max seconds of a grid while `preset` trains, steps taken meanwhile, and idle. */
export async function gridLatencyWhileTraining(preset: PresetName, grids = GRIDS): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'flowdesk-bench-latency-'));
  const images = join(dir, 'images');
  await mkdir(images);
  await writeImages(images);
  const host = new WorkerHost(nodeWorker(join(dir, 'runs')));
  let step = 0;
  let backend = '';
  let stepped: () => void = () => undefined;
  host.onEvent((e: AppEvent) => {
    if (e.type === 'train-start') backend = e.backend;
    if (e.type === 'train-step') {
      step = e.step;
      stepped();
    }
  });
  try {
    const model = presetModel('glow', preset, SIZE, 3);
    const train = { ...defaultTrainSettings(), steps: 1_000_000 };
    const { runId } = ok(await host.call<{ runId: string }>('startTraining', { folder: images, model, train }), 'startTraining');
    // The first steps trace and warm up; a person asks once training is under way.
    while (step < 3) await new Promise<void>((resolve) => (stepped = resolve));
    const grid = async (seed: number) => {
      const t0 = performance.now();
      ok(await host.call('sample', { runId, n: 36, temperature: 0.7, seed }), 'sample');
      return (performance.now() - t0) / 1000;
    };
    const series = async (count: number, gapMs: number) => {
      const seconds: number[] = [];
      for (let i = 0; i < count; i++) {
        await new Promise((r) => setTimeout(r, gapMs));
        seconds.push(await grid(i));
      }
      return seconds;
    };
    const stepAtStart = step;
    const busy = await series(grids, GAP_MS);
    const stepsDuring = step - stepAtStart;
    const stepBeforeLone = step;
    const lone = await series(LONE, LONE_GAP_MS);
    const stepsDuringLone = step - stepBeforeLone;
    ok(await host.call('pauseTraining'), 'pauseTraining');
    const idle: number[] = [];
    for (let i = 0; i < 3; i++) idle.push(await grid(i));
    const round = (v: number) => Math.round(v * 1000) / 1000;
    return {
      bench: 'latency',
      what: '36-image sample grid while training',
      model: `glow ${preset}`,
      size: SIZE,
      channels: 3,
      batch: train.batch,
      backend,
      burst_grids: grids,
      median_s: round(median(busy)),
      max_s: round(Math.max(...busy)),
      steps_during_burst: stepsDuring,
      lone_grids: LONE,
      lone_median_s: round(median(lone)),
      lone_max_s: round(Math.max(...lone)),
      steps_during_lone: stepsDuringLone,
      idle_median_s: round(median(idle)),
      load: round(loadavg()[0]),
    };
  } finally {
    await host.shutdown(30_000).catch(() => host.stop());
    await rm(dir, { recursive: true, force: true });
  }
}
