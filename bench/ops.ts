// DRAFT exploration
import * as tf from '../main/engine/tf.ts';
import { initBackend, type BackendName } from '../main/engine/backend.ts';

const args = process.argv.slice(2);
const backendArg = args[args.indexOf('--backend') + 1] as BackendName | undefined;
const only = args.find((a) => a.startsWith('--shapes='))?.split('=')[1].split(',');
const emit = (obj: object) => process.stdout.write(`${JSON.stringify(obj)}\n`);

function rand(shape: number[]): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', 1);
}

function flippedT(f: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(tf.reverse(f, [0, 1]), [0, 1, 3, 2]);
}
function patches(x: tf.Tensor4D, k: number, oh: number, ow: number): tf.Tensor4D {
  const s: tf.Tensor4D[] = [];
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) s.push(tf.slice(x, [0, i, j, 0], [-1, oh, ow, -1]));
  return tf.concat(s, 3);
}
const p1 = (k: number) => (k - 1) / 2;

// The block bodies matter: a tidy that returns dataSync()'s typed array walks every element
// looking for tensors, which once made large outputs look tens of times slower than they are.
function time(fn: () => tf.Tensor, minMs: number, maxReps: number): { ms: number; reps: number } {
  tf.tidy(() => {
    fn().dataSync();
  });
  const times: number[] = [];
  let total = 0;
  while (times.length < maxReps && (total < minMs || times.length < 2)) {
    const t0 = performance.now();
    tf.tidy(() => {
      fn().dataSync();
    });
    const dt = performance.now() - t0;
    times.push(dt);
    total += dt;
    if (dt > 3000 && times.length >= 1) break;
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], reps: times.length };
}

interface Case { n: number; h: number; w: number; cin: number; cout: number; k: number }
const cases: Record<string, Case> = {
  mid: { n: 32, h: 16, w: 16, cin: 64, cout: 64, k: 3 },
  glow128: { n: 32, h: 32, w: 32, cin: 128, cout: 128, k: 3 },
  glowIn: { n: 32, h: 16, w: 16, cin: 6, cout: 128, k: 3 },
  glowOut: { n: 32, h: 16, w: 16, cin: 128, cout: 12, k: 3 },
  one: { n: 32, h: 16, w: 16, cin: 128, cout: 128, k: 1 },
};

function kernel(name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
}

async function main() {
  const report = await initBackend(backendArg ? { force: backendArg } : {});
  const backend = report.name;
  for (const [key, c] of Object.entries(cases)) {
    if (only && !only.includes(key)) continue;
    const { n, h, w, cin, cout, k } = c;
    const x = rand([n, h, w, cin]) as tf.Tensor4D;
    const f = rand([k, k, cin, cout]) as tf.Tensor4D;
    const dy = rand([n, h, w, cout]) as tf.Tensor4D;
    const flops = 2 * n * h * w * k * k * cin * cout;
    const shape = `${n}x${h}x${w}x${cin} k${k} ${cout}`;
    const pad = p1(k);
    const padS: [number, number][] = [[0, 0], [pad, pad], [pad, pad], [0, 0]];
    const M = n * h * w;
    const variants: [string, string, () => tf.Tensor][] = [
      ['fwd', 'native', () => tf.conv2d(x, f, 1, 'same')],
      ['fwd', 'native_padvalid', () => tf.conv2d(tf.pad(x, padS), f, 1, 'valid')],
      ['fwd', 'im2col_matmul', () => tf.matMul(tf.reshape(k === 1 ? x : patches(tf.pad(x, padS), k, h, w), [M, k * k * cin]), tf.reshape(f, [k * k * cin, cout]))],
      ['igrad', 'native', () => kernel('Conv2DBackpropInput', { dy, filter: f }, { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: x.shape })],
      ['igrad', 'flipconv_same', () => tf.conv2d(dy, flippedT(f), 1, 'same')],
      ['igrad', 'flipconv_pad', () => tf.conv2d(tf.pad(dy, padS), flippedT(f), 1, 'valid')],
      ['igrad', 'im2col_matmul_tB', () => tf.matMul(tf.reshape(k === 1 ? dy : patches(tf.pad(dy, padS), k, h, w), [M, k * k * cout]), tf.reshape(flippedT(f), [k * k * cout, cin]))],
      ['fgrad', 'native', () => kernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: f.shape })],
      ['fgrad', 'im2col_transposeA', () => tf.matMul(tf.reshape(k === 1 ? x : patches(tf.pad(x, padS), k, h, w), [M, k * k * cin]), tf.reshape(dy, [M, cout]), true, false)],
      ['fgrad', 'im2col_explicitT', () => tf.matMul(tf.transpose(tf.reshape(k === 1 ? x : patches(tf.pad(x, padS), k, h, w), [M, k * k * cin])), tf.reshape(dy, [M, cout]))],
      ['fgrad', 'im2col_dyT', () => tf.transpose(tf.matMul(tf.transpose(tf.reshape(dy, [M, cout])), tf.reshape(k === 1 ? x : patches(tf.pad(x, padS), k, h, w), [M, k * k * cin])))],
      ['fgrad', 'taps_dyT', () => {
        const dyT = tf.transpose(tf.reshape(dy, [M, cout]));
        const xp = k === 1 ? x : tf.pad(x, padS);
        const parts: tf.Tensor[] = [];
        for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) parts.push(tf.matMul(dyT, tf.reshape(tf.slice(xp, [0, i, j, 0], [-1, h, w, -1]), [M, cin])));
        return tf.transpose(tf.concat(parts, 1));
      }],
      ['fgrad', 'conv_transposed', () => {
        const xt = tf.transpose(k === 1 ? x : tf.pad(x, padS), [3, 1, 2, 0]); // [cin, Hp, Wp, n]
        const dyt = tf.transpose(dy, [1, 2, 0, 3]); // [h, w, n, cout]
        return tf.transpose(tf.conv2d(xt as tf.Tensor4D, dyt as tf.Tensor4D, 1, 'valid'), [1, 2, 0, 3]);
      }],
    ];
    for (const [op, variant, fn] of variants) {
      if (k === 1 && variant === 'native_padvalid') continue;
      try {
        const { ms, reps } = time(fn, 1500, 20);
        emit({ bench: 'op', op: `conv2d_${op}`, backend, shape, variant, ms: Math.round(ms * 100) / 100, gflops: Math.round((flops / ms / 1e6) * 100) / 100, reps });
      } catch (err) {
        emit({ bench: 'op', op: `conv2d_${op}`, backend, shape, variant, error: (err as Error).message.split('\n')[0] });
      }
    }
    tf.dispose([x, f, dy]);
  }
}
await main();
