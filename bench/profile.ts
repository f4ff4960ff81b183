// Per-kernel profile of one training step (one thread's share, with Adam), as docs/performance.md
// quotes it: the median wall time of three plain steps, then one profiled step's time per kernel
// category and its costliest kernels by input shape. `npx tsx bench/profile.ts [--depth=4] [--hidden=128] [--batch=16]
// [--micro=16] [--backend=wasm] [--top=25]`; the batch defaults to a share of 32 on two threads.
import * as tf from '../main/engine/tf.ts';
import { initBackend, type BackendName } from '../main/engine/backend.ts';
import { createModel } from '../main/engine/models/create-model.ts';
import { Rng } from '../main/engine/random.ts';
import { batchGradients } from '../main/engine/train/gradients.ts';
import { Optimizer, resolveOptimizerConfig } from '../main/engine/train/optimizer.ts';

const arg = (name: string, fallback: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const depth = arg('depth', 4);
const hidden = arg('hidden', 128);
const batch = arg('batch', 16);
const micro = arg('micro', batch);
const top = arg('top', 25);
const backend = (process.argv.find((a) => a.startsWith('--backend='))?.split('=')[1] ?? 'wasm') as BackendName;

await initBackend({ force: backend });
const model = createModel({ kind: 'glow', size: 32, channels: 3, levels: 3, depth, hidden }, 0);
const rng = new Rng(1);
const images = () => rng.fillUniform(new Float32Array(batch * 32 * 32 * 3)).map((v) => v - 0.5);
tf.tidy(() => model.initialise(tf.tensor4d(images(), [batch, 32, 32, 3])));
const optimizer = new Optimizer(resolveOptimizerConfig({}), model.params.variables);
const step = () => {
  // The share's weight in a batch twice its size, as on two threads.
  const { grads } = batchGradients(model, images(), batch, 8, micro, 2 * batch);
  optimizer.apply(grads, Optimizer.gradNorm(grads));
  tf.dispose(Object.values(grads));
};
step();
const walls: number[] = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  step();
  walls.push(performance.now() - t0);
}
const wall = walls.sort((a, b) => a - b)[1];
const profiledStart = performance.now();
const profile = await tf.profile(() => {
  step();
});
// Shares are of the profiled step itself, so a burst of other work on the machine cannot skew them.
const profiledWall = performance.now() - profiledStart;

function category(kernel: string): string {
  if (/^(BatchMatMul|_FusedMatMul|Conv2D|FusedConv2D)$/.test(kernel)) return 'gemm/conv';
  if (/^(Transpose|Slice|Concat|PadV2|Reverse|SplitV|Pack|Tile|GatherV2)$/.test(kernel)) return 'layout';
  if (/^(Identity|Reshape|Cast)$/.test(kernel)) return 'bookkeeping';
  return 'elementwise/reduce';
}

const byCategory = new Map<string, { ms: number; kernels: number }>();
const byShape = new Map<string, { ms: number; kernels: number }>();
let kernelMs = 0;
let kernels = 0;
for (const k of profile.kernels) {
  // Composite ops (customGrad scopes, fused op wrappers) repeat the time of the kernels inside.
  if (/unnamed scope|__op$/.test(k.name)) continue;
  const ms = Number(k.kernelTimeMs) || 0;
  kernelMs += ms;
  kernels += 1;
  for (const [map, key] of [[byCategory, category(k.name)], [byShape, `${k.name} ${JSON.stringify(k.inputShapes)}`]] as const) {
    const entry = map.get(key) ?? { ms: 0, kernels: 0 };
    entry.ms += ms;
    entry.kernels += 1;
    map.set(key, entry);
  }
}
const round = (v: number) => Math.round(v * 10) / 10;
const emit = (obj: object) => process.stdout.write(`${JSON.stringify(obj)}\n`);
emit({ profile: 'step', backend, depth, hidden, batch, micro, wall_ms: round(wall), profiled_ms: round(profiledWall), kernels, kernel_ms: round(kernelMs), outside_kernels_pct: round((100 * (profiledWall - kernelMs)) / profiledWall) });
for (const [name, v] of [...byCategory].sort((a, b) => b[1].ms - a[1].ms)) emit({ profile: 'category', name, ms: round(v.ms), kernels: v.kernels, pct: round((100 * v.ms) / profiledWall) });
for (const [name, v] of [...byShape].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) emit({ profile: 'kernel', name, ms: round(v.ms), calls: v.kernels });
optimizer.dispose();
model.dispose();
