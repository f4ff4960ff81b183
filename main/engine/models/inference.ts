// Batched inference for the app, the CLI and training: sampling, encoding and scoring images.
// On the 'onnx' backend each runs as an onnxruntime session per model (kept while training
// changes the weights, which are inputs); otherwise batches split across the model's replica
// threads. Either way the same results up to float rounding.
import * as tf from '../tf.ts';
import { activeBackend } from '../backend.ts';
import { OnnxForward } from '../onnx/onnx-forward.ts';
import { OnnxSampler } from '../onnx/onnx-sampler.ts';
import { loadOrt, type Ort } from '../onnx/runtime.ts';
import type { Rng } from '../random.ts';
import { bitsPerDim, drawNoise, type FlowModel } from './flow-model.ts';
import { defaultThreads, ModelReplicas, sampleImages } from './model-replicas.ts';

/** Images per forward run on onnxruntime; shorter batches are padded to it. */
const FORWARD_BATCH = 64;
/** Fewer images than this encode faster on tfjs than padded to a native batch. */
const MIN_NATIVE_IMAGES = 16;

interface Sessions {
  samplers: Map<number, Promise<OnnxSampler>>;
  forward: Promise<OnnxForward> | null;
}
const sessions = new WeakMap<FlowModel, Sessions>();

/** onnxruntime when the backend is 'onnx', with this model's sessions (released with the model). */
function native(model: FlowModel): { ort: Ort; s: Sessions } | null {
  const loaded = loadOrt();
  if (activeBackend() !== 'onnx' || !('ort' in loaded)) return null;
  let s = sessions.get(model);
  if (!s) {
    const created: Sessions = { samplers: new Map(), forward: null };
    sessions.set(model, (s = created));
    model.params.onDispose(() => {
      for (const p of [...created.samplers.values(), created.forward]) void p?.then((x) => x.dispose(), () => {});
    });
  }
  return { ort: loaded.ort, s };
}

/** `n` images [n, H, W, C] in model space at `temperature`, as model.sample(n, temperature, rng) draws them. */
export async function samplePixels(model: FlowModel, n: number, temperature: number, rng: Rng, threads = defaultThreads()): Promise<Float32Array> {
  const rt = native(model);
  if (!rt) return tf.readAndDispose(sampleImages(model, n, temperature, rng, threads));
  let sampler = rt.s.samplers.get(n);
  if (!sampler) rt.s.samplers.set(n, (sampler = OnnxSampler.create(rt.ort, model, n)));
  return (await sampler).sample(drawNoise(model, n, temperature, rng));
}

/** The forward session when `n` images are enough to gain from it. */
function forwardFor(model: FlowModel, n: number): Promise<OnnxForward> | null {
  const rt = n >= MIN_NATIVE_IMAGES ? native(model) : null;
  if (!rt) return null;
  rt.s.forward ??= OnnxForward.create(rt.ort, model, FORWARD_BATCH);
  return rt.s.forward;
}

/** model.encode of the n images in `x` (model space, NHWC); the caller disposes the latents. */
export async function encodeImages(model: FlowModel, x: Float32Array, n: number, threads = defaultThreads()): Promise<tf.Tensor4D[]> {
  const { size, channels } = model.config;
  const per = size * size * channels;
  const forward = forwardFor(model, n);
  if (!forward) {
    const split = n >= 2 ? ModelReplicas.for(model, threads) : null;
    return split ? split.encode(x, n) : tf.tidy(() => model.encode(tf.tensor4d(x.subarray(0, n * per), [n, size, size, channels])));
  }
  const f = await forward;
  const parts: tf.Tensor4D[][] = [];
  for (let start = 0; start < n; start += f.batch) {
    const count = Math.min(f.batch, n - start);
    const { zs } = await f.run(x.subarray(start * per, (start + count) * per), count);
    parts.push(zs.map((z) => tf.tensor4d(z.values, z.shape)));
  }
  if (parts.length === 1) return parts[0];
  const joined = parts[0].map((_, level) => tf.concat(parts.map((p) => p[level]), 0) as tf.Tensor4D);
  tf.dispose(parts.flat());
  return joined;
}

/** Bits per dim of the n images in `x` (dequantized, model space), as flow-model's bitsPerDim. */
export async function imageBitsPerDim(model: FlowModel, x: Float32Array, n: number, nBits: number, threads = defaultThreads()): Promise<Float32Array> {
  const { size, channels } = model.config;
  const per = size * size * channels;
  const forward = forwardFor(model, n);
  if (!forward) {
    const split = n >= 2 ? ModelReplicas.for(model, threads) : null;
    if (split) return split.bitsPerDim(x, n, nBits);
    return tf.readAndDispose(tf.tidy(() => bitsPerDim(model, tf.tensor4d(x.subarray(0, n * per), [n, size, size, channels]), nBits)));
  }
  const f = await forward;
  const out = new Float32Array(n);
  for (let start = 0; start < n; start += f.batch) {
    const count = Math.min(f.batch, n - start);
    const { logp } = await f.run(x.subarray(start * per, (start + count) * per), count);
    for (let i = 0; i < count; i++) out[start + i] = logp[i] / (-per * Math.LN2) + nBits;
  }
  return out;
}
