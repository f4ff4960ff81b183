// One Glow coupling network's forward pass and gradients on onnxruntime in two forms, checked
// against each other and timed interleaved (docs/performance.md, "onnxruntime's own Conv"):
// today's trace (3x3 convolutions as unfold/fold + Gemm) and hand-built NCHW graphs with ONNX Conv.
// `npx tsx bench/conv-forms.ts [--size=16] [--cin=6] [--runs=40] [--no-spin] [--variants=a,b,...] [--profile=THREADS]`
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import * as tf from '../main/engine/tf.ts';
import { initBackend } from '../main/engine/backend.ts';
import { conv1x1Bias, conv2dBias } from '../main/engine/ops/conv2d.ts';
import { traceToOnnx } from '../main/engine/onnx/trace-backend.ts';
import { GraphBuilder, type TensorRef } from '../main/engine/onnx/graph-builder.ts';
import { encodeModel, attr, type OnnxGraph } from '../main/engine/onnx/onnx-proto.ts';
import { loadOrt } from '../main/engine/onnx/runtime.ts';
import { Rng } from '../main/engine/random.ts';

const arg = (name: string, fallback: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const S = arg('size', 16);
const CIN = arg('cin', 6);
const COUT = 2 * CIN;
const HID = arg('hidden', 128);
const N = arg('batch', 32);
const RUNS = arg('runs', 40);
const variantArg = process.argv.find((a) => a.startsWith('--variants='))?.split('=')[1];

const loaded = loadOrt();
if (!('ort' in loaded)) throw new Error(loaded.reason);
const { ort } = loaded;
await initBackend({ force: 'wasm' });

const rng = new Rng(3);
const rand = (shape: number[], scale = 1) => rng.fillUniform(new Float32Array(shape.reduce((a, b) => a * b, 1))).map((v) => (v - 0.5) * scale);
const shapes: Record<string, number[]> = {
  x: [N, S, S, CIN], w1: [3, 3, CIN, HID], b1: [HID], w2: [HID, HID], b2: [HID], w3: [3, 3, HID, COUT], b3: [COUT], r: [N, S, S, COUT],
};
const data: Record<string, Float32Array> = {
  x: rand(shapes.x, 2), w1: rand(shapes.w1, 0.3), b1: rand(shapes.b1, 0.1), w2: rand(shapes.w2, 0.2), b2: rand(shapes.b2, 0.1),
  w3: rand(shapes.w3, 0.1), b3: rand(shapes.b3, 0.1), r: rand(shapes.r, 1),
};
const OUTS = ['y', 'gx', 'gw1', 'gb1', 'gw2', 'gb2', 'gw3', 'gb3'];

function traced(): OnnxGraph {
  const t = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, tf.tensor(v, shapes[k])]));
  return traceToOnnx('a', t, () => {
    const net = (x: tf.Tensor4D, w1: tf.Tensor4D, b1: tf.Tensor1D, w2: tf.Tensor2D, b2: tf.Tensor1D, w3: tf.Tensor4D, b3: tf.Tensor1D) => {
      const h1 = conv2dBias(x, w1, b1, 'relu');
      const h2 = conv1x1Bias(h1, w2, b2, 'relu');
      return conv2dBias(h2, w3, b3);
    };
    const args = ['x', 'w1', 'b1', 'w2', 'b2', 'w3', 'b3'].map((k) => t[k]);
    // The forward once: its output is kept from inside the gradient's own pass.
    let y: tf.Tensor | null = null;
    const grads = tf.grads((...a: tf.Tensor[]) => {
      y = tf.keep(net(...(a as Parameters<typeof net>)));
      return tf.sum(tf.mul(y, t.r));
    })(args);
    const out: Record<string, tf.Tensor> = { y: y! };
    ['gx', 'gw1', 'gb1', 'gw2', 'gb2', 'gw3', 'gb3'].forEach((k, i) => (out[k] = grads[i]));
    return out;
  });
}

type Opts = { dx: 'convT' | 'convFlip'; dw: 'conv' | 'gemm'; bias: 'reduce' | 'gemm'; oneByOne: 'conv' | 'gemm' };

/** (b): NCHW inside, Conv for the 3x3s; variants for the gradients. */
function handBuilt(o: Opts): OnnxGraph {
  const g = new GraphBuilder(() => []);
  const refs: Record<string, TensorRef> = {};
  for (const k of Object.keys(shapes)) g.input(k, (refs[k] = { dataId: {}, shape: shapes[k], dtype: 'float32' }));
  const T = (v: string, perm: number[]) => g.op('Transpose', [v], [attr.ints('perm', perm)]);
  const R = (v: string, s: number[]) => g.op('Reshape', [v, g.int64s(s)]);
  const conv = (x: string, w: string, b: string | null, pads: number) => g.op('Conv', b ? [x, w, b] : [x, w], [attr.ints('pads', [pads, pads, pads, pads])]);
  const relu = (v: string) => g.op('Relu', [v]);
  const mask = (d: string, h: string) => g.op('Mul', [d, g.op('Cast', [g.op('Greater', [h, g.scalar(0)])], [attr.int('to', 1)])]);
  const nchw = (v: string) => T(v, [0, 3, 1, 2]);
  const nhwc = (v: string) => T(v, [0, 2, 3, 1]);
  const cbn = (v: string) => T(v, [1, 0, 2, 3]); // [N,C,H,W] -> [C,N,H,W]
  const biasGrad = (G: string, c: number) =>
    o.bias === 'reduce' ? g.op('ReduceSum', [G, g.int64s([0, 2, 3])], [attr.int('keepdims', 0)]) : R(g.op('Gemm', [g.ones([1, N * S * S]), R(nhwc(G), [-1, c])]), [c]);
  const toConvW = (w: string) => T(w, [3, 2, 0, 1]); // [kh,kw,ci,co] -> [co,ci,kh,kw]
  // dL/dw [kh,kw,ci,co] of a 3x3 'same' conv from input X [N,ci,S,S] and gradient G [N,co,S,S]
  const dw3 = (X: string, G: string, ci: number, co: number) => {
    if (o.dw === 'conv') return T(conv(cbn(X), cbn(G), null, 1), [2, 3, 0, 1]);
    if (ci > co) {
      // unfold the narrow gradient instead (as today's path does): tap (i, j) reads pad(G) at (2-i, 2-j)
      const gp = g.pad({ input: nhwc(G), before: [0, 1, 1, 0], after: [0, 1, 1, 0], value: 0 });
      const gt: string[] = [];
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) gt.push(g.op('Slice', [gp, g.int64s([0, 2 - i, 2 - j, 0]), g.int64s([N, 2 - i + S, 2 - j + S, co]), g.int64s([0, 1, 2, 3])]));
      const gcols = R(g.op('Concat', gt, [attr.int('axis', 3)]), [-1, 9 * co]);
      return T(R(g.op('Gemm', [R(nhwc(X), [-1, ci]), gcols], [attr.int('transA', 1)]), [ci, 3, 3, co]), [1, 2, 0, 3]);
    }
    // im2col in NHWC: 9 taps of padded X, concat, Gemm transA
    const xp = g.pad({ input: nhwc(X), before: [0, 1, 1, 0], after: [0, 1, 1, 0], value: 0 });
    const taps: string[] = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) taps.push(g.op('Slice', [xp, g.int64s([0, i, j, 0]), g.int64s([N, i + S, j + S, ci]), g.int64s([0, 1, 2, 3])]));
    const cols = R(g.op('Concat', taps, [attr.int('axis', 3)]), [-1, 9 * ci]);
    return R(g.op('Gemm', [cols, R(nhwc(G), [-1, co])], [attr.int('transA', 1)]), [3, 3, ci, co]);
  };
  const dx3 = (G: string, wc: string, w: string) => {
    if (o.dx === 'convT') return g.op('ConvTranspose', [G, wc], [attr.ints('pads', [1, 1, 1, 1])]);
    // flipped kernel, in/out swapped: [kh,kw,ci,co] reversed on kh,kw -> [ci,co,kh,kw]
    const flipped = g.op('Slice', [w, g.int64s([-1, -1]), g.int64s([-(2 ** 63), -(2 ** 63)]), g.int64s([0, 1]), g.int64s([-1, -1])]);
    return conv(G, T(flipped, [2, 3, 0, 1]), null, 1);
  };
  const X = nchw('x');
  const W1 = toConvW('w1');
  const W3 = toConvW('w3');
  const H1 = relu(conv(X, W1, 'b1', 1));
  let H2: string;
  const W2c = R(T('w2', [1, 0]), [HID, HID, 1, 1]);
  if (o.oneByOne === 'conv') H2 = relu(conv(H1, W2c, 'b2', 0));
  else H2 = nchw(R(relu(g.op('Gemm', [R(nhwc(H1), [-1, HID]), 'w2', 'b2'])), [N, S, S, HID]));
  const Y = conv(H2, W3, 'b3', 1);
  const y = nhwc(Y);
  const G3 = nchw('r');
  const gb3 = biasGrad(G3, COUT);
  const gw3 = dw3(H2, G3, HID, COUT);
  const G2 = mask(dx3(G3, W3, 'w3'), H2);
  const gb2 = biasGrad(G2, HID);
  let gw2: string, dH1: string;
  if (o.oneByOne === 'conv') {
    gw2 = R(conv(cbn(H1), cbn(G2), null, 0), [HID, HID]);
    dH1 = conv(G2, R('w2', [HID, HID, 1, 1]), null, 0);
  } else {
    const h1m = R(nhwc(H1), [-1, HID]);
    const g2m = R(nhwc(G2), [-1, HID]);
    gw2 = g.op('Gemm', [h1m, g2m], [attr.int('transA', 1)]);
    dH1 = nchw(R(g.op('Gemm', [g2m, 'w2'], [attr.int('transB', 1)]), [N, S, S, HID]));
  }
  const G1 = mask(dH1, H1);
  const gb1 = biasGrad(G1, HID);
  const gw1 = dw3(X, G1, CIN, HID);
  const gx = nhwc(dx3(G1, W1, 'w1'));
  const vals = { y, gx, gw1, gb1, gw2, gb2, gw3, gb3 };
  const outShape: Record<string, number[]> = { y: shapes.r, gx: shapes.x, gw1: shapes.w1, gb1: shapes.b1, gw2: shapes.w2, gb2: shapes.b2, gw3: shapes.w3, gb3: shapes.b3 };
  return g.build('b', OUTS.map((name) => ({ name, value: vals[name as keyof typeof vals], ref: { dataId: {}, shape: outShape[name], dtype: 'float32' } })));
}

/**
 * a: today's trace. b_*: Conv for the 3x3 forwards; dx by ConvTranspose (convT) or a Conv with the
 * flipped filter (flip); dW by a Conv with the batch as channels (convdw) or unfold + Gemm on the
 * narrower side (gemmdw); the 1x1 as Conv or, with `_1x1gemm`, as Gemms in NHWC.
 */
const variants: Record<string, () => OnnxGraph> = {
  a: traced,
  b_convT_convdw: () => handBuilt({ dx: 'convT', dw: 'conv', bias: 'reduce', oneByOne: 'conv' }),
  b_flip_convdw: () => handBuilt({ dx: 'convFlip', dw: 'conv', bias: 'reduce', oneByOne: 'conv' }),
  b_flip_gemmdw: () => handBuilt({ dx: 'convFlip', dw: 'gemm', bias: 'reduce', oneByOne: 'conv' }),
  b_flip_gemmdw_1x1gemm: () => handBuilt({ dx: 'convFlip', dw: 'gemm', bias: 'gemm', oneByOne: 'gemm' }),
};
/** A probe: the weights as constants, the only case in which onnxruntime's NCHWc transformer takes a Conv. */
function constWeights(graph: OnnxGraph): OnnxGraph {
  const keep = new Set(['x', 'r']);
  const moved = graph.inputs.filter((i) => !keep.has(i.name));
  return { ...graph, inputs: graph.inputs.filter((i) => keep.has(i.name)), initializers: [...graph.initializers, ...moved.map((i) => ({ name: i.name, dtype: 'float32' as const, dims: i.dims as number[], data: data[i.name] }))] };
}
variants.b_const_flip_gemmdw_1x1gemm = () => constWeights(variants.b_flip_gemmdw_1x1gemm());
variants.b_const_flip_convdw = () => constWeights(variants.b_flip_convdw());
const chosen = variantArg ? variantArg.split(',') : Object.keys(variants);

const feeds = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, new ort.Tensor('float32', v, shapes[k])]));
for (const threads of [1, 2]) {
  const sessions: [string, Awaited<ReturnType<typeof ort.InferenceSession.create>>, number][] = [];
  for (const name of chosen) {
    const graph = variants[name]();
    const s = await ort.InferenceSession.create(encodeModel(graph), { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', extra: { session: { 'intra_op.allow_spinning': process.argv.includes('--no-spin') ? '0' : '1' } } });
    sessions.push([name, s, graph.nodes.length]);
  }
  // Every output against today's trace: the largest difference over the largest magnitude.
  const ref = await sessions[0][1].run(feeds);
  for (const [name, s] of sessions.slice(1)) {
    const out = await s.run(feeds);
    let worst = 0;
    for (const k of OUTS) {
      const a = ref[k].data as Float32Array;
      const b = out[k].data as Float32Array;
      let num = 0;
      let den = 0;
      for (let i = 0; i < a.length; i++) {
        num = Math.max(num, Math.abs(a[i] - b[i]));
        den = Math.max(den, Math.abs(a[i]));
      }
      worst = Math.max(worst, num / den);
    }
    if (threads === 1) console.log(JSON.stringify({ check: name, maxRelErr: worst.toExponential(2) }));
  }
  const times = new Map<string, number[]>(sessions.map(([n]) => [n, []]));
  const cpus = new Map<string, number[]>(sessions.map(([n]) => [n, []]));
  for (let r = 0; r < 3; r++) for (const [, s] of sessions) await s.run(feeds);
  for (let r = 0; r < RUNS; r++) {
    for (const [name, s] of sessions) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await s.run(feeds);
      const c = process.cpuUsage(c0);
      times.get(name)!.push(performance.now() - t0);
      cpus.get(name)!.push((c.user + c.system) / 1000);
    }
  }
  const med = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)];
  const base = med(times.get(chosen[0])!);
  const cpuBase = med(cpus.get(chosen[0])!);
  for (const [name, , nodes] of sessions) {
    const v = times.get(name)!;
    console.log(JSON.stringify({ S, CIN, threads, name, nodes, median_ms: +med(v).toFixed(2), min_ms: +Math.min(...v).toFixed(2), vs_a: +(med(v) / base).toFixed(3), cpu_median_ms: +med(cpus.get(name)!).toFixed(2), cpu_vs_a: +(med(cpus.get(name)!) / cpuBase).toFixed(3) }));
  }
  for (const [, s] of sessions) await s.release();
}

// Per-op-type profile of each variant at `--profile=threads`: each node at its fastest run.
const profThreads = arg('profile', 0);
if (profThreads > 0) {
  for (const name of chosen) {
    const graph = variants[name]();
    const s = await ort.InferenceSession.create(encodeModel(graph), { intraOpNumThreads: profThreads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: `/tmp/flowdesk-conv-forms-${name}` });
    for (let i = 0; i < 10; i++) await s.run(feeds);
    s.endProfiling();
    await s.release();
    type Ev = { cat: string; name: string; dur: number; ts: number; args: { op_name?: string; input_type_shape?: Record<string, number[]>[] } };
    const path = `/tmp/${readdirSync('/tmp').find((f) => f.startsWith(`flowdesk-conv-forms-${name}`))}`;
    const ev = JSON.parse(readFileSync(path, 'utf8')) as Ev[];
    rmSync(path);
    const runs = ev.filter((e) => e.name === 'model_run').slice(3);
    const best = new Map<string, Ev>();
    for (const run of runs) for (const k of ev.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= run.ts && e.ts <= run.ts + run.dur)) {
      const b = best.get(k.name);
      if (!b || k.dur < b.dur) best.set(k.name, k);
    }
    const byOp = new Map<string, number>();
    const byShape = new Map<string, number>();
    const calls = new Map<string, number>();
    for (const k of best.values()) {
      byOp.set(k.args.op_name ?? '?', (byOp.get(k.args.op_name ?? '?') ?? 0) + k.dur / 1000);
      const key = `${k.args.op_name} ${JSON.stringify((k.args.input_type_shape ?? []).map((x) => Object.values(x)[0]))}`;
      byShape.set(key, (byShape.get(key) ?? 0) + k.dur / 1000);
      calls.set(key, (calls.get(key) ?? 0) + 1);
    }
    const total = [...byOp.values()].reduce((p, q) => p + q, 0);
    console.log(JSON.stringify({ prof: name, threads: profThreads, run_ms: Math.min(...runs.map((r) => r.dur)) / 1000, kernel_ms: +total.toFixed(1), ops: Object.fromEntries([...byOp].sort((p, q) => q[1] - p[1]).map(([k, v]) => [k, +v.toFixed(2)])) }));
    for (const [k, v] of [...byShape].sort((p, q) => q[1] - p[1]).slice(0, 16)) console.log(`   ${v.toFixed(2)} ms, ${calls.get(k)} calls: ${k}`);
  }
}
