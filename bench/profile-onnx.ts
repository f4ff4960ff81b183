// Per-operator profile of one training step on onnxruntime (the `onnx` backend, Adam update
// included), as docs/performance.md quotes it: onnxruntime's own profiler over a few runs of the traced graph,
// each node at its fastest over the runs after the first two (those grow the memory arena), so a
// burst of other work on a shared machine does not land in one op's share; the step line gives
// the fastest run, its own kernels' sum (run_kernel_ms) and the sum of each node's fastest
// (kernel_ms). With FlowDesk's malloc settings, as the bench. `npx tsx
// bench/profile-onnx.ts [--depth=4] [--hidden=128] [--batch=32] [--top=20] [--runs=8] [--threads=2]`
import './with-malloc-settings.ts';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '../main/engine/tf.ts';
import { initBackend } from '../main/engine/backend.ts';
import { createModel } from '../main/engine/models/create-model.ts';
import { weightFeeds } from '../main/engine/onnx/model-weights.ts';
import { updateGraph } from '../main/engine/onnx/onnx-update.ts';
import { encodeModel } from '../main/engine/onnx/onnx-proto.ts';
import { loadOrt } from '../main/engine/onnx/runtime.ts';
import { Rng } from '../main/engine/random.ts';
import { Optimizer, resolveOptimizerConfig } from '../main/engine/train/optimizer.ts';

const arg = (name: string, fallback: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const depth = arg('depth', 4);
const hidden = arg('hidden', 128);
const batch = arg('batch', 32);
const top = arg('top', 20);
const runCount = arg('runs', 8);
const threads = arg('threads', 2);
const emit = (obj: object) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const round = (v: number) => Math.round(v * 10) / 10;

const loaded = loadOrt();
if (!('ort' in loaded)) throw new Error(loaded.reason);
const { ort } = loaded;
await initBackend({ force: 'wasm' });
const model = createModel({ kind: 'glow', size: 32, channels: 3, levels: 3, depth, hidden }, 0);
const images = new Rng(1).fillUniform(new Float32Array(batch * 32 * 32 * 3)).map((v) => v - 0.5);
tf.tidy(() => model.initialise(tf.tensor4d(images, [batch, 32, 32, 3])));
const graph = updateGraph(model, batch, 8, new Optimizer(resolveOptimizerConfig({}), model.params.variables));
const prefix = join(tmpdir(), `flowdesk-ort-profile-${process.pid}`);
const session = await ort.InferenceSession.create(encodeModel(graph), {
  intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: prefix,
});
const feeds = weightFeeds(ort, model, session.inputNames);
feeds.x = new ort.Tensor('float32', images, [batch, 32, 32, 3]);
// The flat moments: zeros, as at a run's first step.
const count = graph.inputs.find((i) => i.name === 'm')!.dims[0] as number;
for (const moment of ['m', 'v']) feeds[moment] = new ort.Tensor('float32', new Float32Array(count), [count]);
feeds.stepSize = new ort.Tensor('float32', Float32Array.of(1e-5), []);
for (let i = 0; i < runCount; i++) await session.run(feeds);
session.endProfiling();
const file = readdirSync(tmpdir()).filter((f) => f.startsWith(`flowdesk-ort-profile-${process.pid}`)).map((f) => join(tmpdir(), f))[0];
type Event = { cat: string; name: string; ts: number; dur: number; args: { op_name?: string; input_type_shape?: Record<string, number[]>[] } };
const events = JSON.parse(readFileSync(file, 'utf8')) as Event[];
rmSync(file);
const runs = events.filter((e) => e.name === 'model_run').slice(2);
const inRun = (e: Event, run: Event) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= run.ts && e.ts <= run.ts + run.dur;
// Each node's fastest run: one event per node, its duration the minimum.
const fastest = new Map<string, Event>();
for (const run of runs) {
  for (const k of events.filter((e) => inRun(e, run))) {
    const best = fastest.get(k.name);
    if (!best || k.dur < best.dur) fastest.set(k.name, k);
  }
}
const kernels = [...fastest.values()];
const byOp = new Map<string, { ms: number; calls: number }>();
const byShape = new Map<string, { ms: number; calls: number }>();
for (const k of kernels) {
  const op = k.args.op_name ?? '?';
  const shapes = (k.args.input_type_shape ?? []).map((s) => Object.values(s)[0]);
  for (const [map, key] of [[byOp, op], [byShape, `${op} ${JSON.stringify(shapes)}`]] as const) {
    const entry = map.get(key) ?? { ms: 0, calls: 0 };
    entry.ms += k.dur / 1000;
    entry.calls += 1;
    map.set(key, entry);
  }
}
const kernelMs = kernels.reduce((sum, k) => sum + k.dur / 1000, 0);
// The fastest run, and its own kernels' sum: what it spent between kernels is the difference.
const fastestRun = runs.reduce((best, r) => (r.dur < best.dur ? r : best));
const runKernelMs = events.filter((e) => inRun(e, fastestRun)).reduce((sum, k) => sum + k.dur / 1000, 0);
emit({ profile: 'step', backend: 'onnx', depth, hidden, batch, threads, nodes: graph.nodes.length, run_ms: round(fastestRun.dur / 1000), run_kernel_ms: round(runKernelMs), kernel_ms: round(kernelMs) });
for (const [name, v] of [...byOp].sort((a, b) => b[1].ms - a[1].ms)) emit({ profile: 'op', name, ms: round(v.ms), calls: v.calls, pct: round((100 * v.ms) / kernelMs) });
for (const [name, v] of [...byShape].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) emit({ profile: 'kernel', name, ms: round(v.ms), calls: v.calls });
await session.release();
model.dispose();
