// Latent exploration on a loaded model: reconstruct images, interpolate between two or four,
// build and apply attribute directions, and rank images by bits per dimension. Images go in
// and come out as NHWC uint8 pixels; inputs sit at the centre of their n-bit bins, so an
// invertible model reconstructs them exactly up to float error. Encoding, decoding and scoring
// go through the model's compute runtime (runtime/runtime-for.ts).
import * as tf from '../tf.ts';
import type { ImageSet } from '../data/index.ts';
import { toPixels } from '../data/index.ts';
import type { FlowModel } from '../models/flow-model.ts';
import { throwIfAborted } from '../progress.ts';
import type { ComputeRuntime } from '../runtime/compute-runtime.ts';
import { runtimeFor } from '../runtime/runtime-for.ts';
import { bitsPerDimOfSet } from '../train/evaluate.ts';
import { flatten, gridPoint, mix, unflatten, type Latents } from './latents.ts';

export interface Explorer {
  model: FlowModel;
  nBits: number;
  /** Threads a batch of images is split across (see RuntimeOptions). Defaults to the model runtime's own. */
  threads?: number;
}

function runtime(e: Explorer): ComputeRuntime {
  return runtimeFor(e.model, { threads: e.threads });
}

/** Pixels to model space at the centre of each n-bit bin (no dequantization noise). */
export function centred(pixels: Uint8Array, nBits: number): Float32Array {
  const bins = 2 ** nBits;
  const drop = 2 ** (8 - nBits);
  return Float32Array.from(pixels, (p) => (Math.floor(p / drop) + 0.5) / bins - 0.5);
}

function encodePixels(e: Explorer, pixels: Uint8Array): Promise<Latents> {
  const { size, channels } = e.model.config;
  return runtime(e).encode(centred(pixels, e.nBits), pixels.length / (size * size * channels));
}

async function decodeToPixels(e: Explorer, zs: Latents): Promise<Uint8Array> {
  return toPixels(await runtime(e).decode(zs), e.nBits);
}

export interface Reconstruction {
  pixels: Uint8Array;
  /** Largest difference from the input in 8-bit levels. */
  maxError: number;
  meanError: number;
}

export async function reconstruct(e: Explorer, pixels: Uint8Array): Promise<Reconstruction> {
  const zs = await encodePixels(e, pixels);
  const out = await decodeToPixels(e, zs);
  tf.dispose(zs);
  const input = toPixels(centred(pixels, e.nBits), e.nBits);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < out.length; i++) {
    const d = Math.abs(out[i] - input[i]);
    max = Math.max(max, d);
    sum += d;
  }
  return { pixels: out, maxError: max, meanError: sum / out.length };
}

export interface InterpolateOptions {
  /** Frames along a strip, or rows and columns of a grid. Defaults to 8. */
  steps?: number;
  /** Great-circle rather than straight-line interpolation (strips only). Defaults to false. */
  spherical?: boolean;
  /** Multiplies every interpolated z. Defaults to 1 (end frames are the reconstructions). */
  temperature?: number;
}

/** Two images (a strip of `steps` frames) or four (a steps x steps grid, row by row). */
export async function interpolate(e: Explorer, pixels: Uint8Array, count: 2 | 4, opts: InterpolateOptions = {}): Promise<Uint8Array> {
  const steps = opts.steps ?? 8;
  const temperature = opts.temperature ?? 1;
  const zs = await encodePixels(e, pixels);
  const flat = flatten(zs);
  const rows = tf.tidy(() => {
    const pick = (i: number) => tf.slice(flat, [i, 0], [1, -1]) as tf.Tensor2D;
    const frames: tf.Tensor2D[] = [];
    if (count === 2) {
      for (let i = 0; i < steps; i++) frames.push(mix(pick(0), pick(1), steps === 1 ? 0 : i / (steps - 1), opts.spherical ?? false));
    } else {
      const [z1, z2, z3, z4] = [0, 1, 2, 3].map(pick);
      for (let r = 0; r < steps; r++) {
        for (let c = 0; c < steps; c++) {
          const a = steps === 1 ? 0 : ((Math.PI / 2) * r) / (steps - 1);
          const b = steps === 1 ? 0 : ((Math.PI / 2) * c) / (steps - 1);
          frames.push(gridPoint(z1, z2, z3, z4, a, b));
        }
      }
    }
    return tf.mul(tf.concat(frames, 0), temperature) as tf.Tensor2D;
  });
  const latents = unflatten(rows, zs);
  const out = await decodeToPixels(e, latents);
  tf.dispose([...zs, flat, rows, ...latents]);
  return out;
}

/**
 * Mean latent of the images with an attribute minus that of those without, per level.
 * `onBatch` hears how many images of both sets are encoded; aborting `signal` stops with CANCELLED.
 */
export async function attributeDirection(
  e: Explorer,
  withAttr: ImageSet,
  without: ImageSet,
  onBatch?: (done: number) => void,
  signal?: AbortSignal,
): Promise<Latents> {
  let encoded = 0;
  const mean = async (set: ImageSet): Promise<tf.Tensor2D> => {
    let sum: tf.Tensor2D | null = null;
    const batch = 64;
    for (let start = 0; start < set.count; start += batch) {
      if (signal?.aborted) {
        tf.dispose(sum ?? []);
        throwIfAborted(signal, 'Computing a direction');
      }
      const n = Math.min(batch, set.count - start);
      const per = set.size * set.size * set.channels;
      const zs = await encodePixels(e, set.pixels.subarray(start * per, (start + n) * per));
      const flat = flatten(zs);
      const part = tf.sum(flat, 0, true) as tf.Tensor2D;
      const next: tf.Tensor2D = sum ? (tf.add(sum, part) as tf.Tensor2D) : part;
      if (sum) tf.dispose([sum, part]);
      tf.dispose([...zs, flat]);
      sum = next;
      onBatch?.((encoded += n));
    }
    const out = tf.div(sum!, set.count) as tf.Tensor2D;
    sum!.dispose();
    return out;
  };
  const a = await mean(withAttr);
  let b: tf.Tensor2D;
  try {
    b = await mean(without);
  } catch (err) {
    a.dispose();
    throw err;
  }
  const diff = tf.sub(a, b) as tf.Tensor2D;
  const { size, channels } = e.model.config;
  const like = await encodePixels(e, new Uint8Array(size * size * channels));
  const direction = unflatten(diff, like);
  tf.dispose([a, b, diff, ...like]);
  return direction;
}

/** decode(z(image) + alpha * direction) for each alpha: one image per alpha. */
export async function applyDirection(e: Explorer, pixels: Uint8Array, direction: Latents, alphas: number[]): Promise<Uint8Array> {
  const zs = await encodePixels(e, pixels);
  const flat = flatten(zs);
  const dir = flatten(direction);
  const rows = tf.tidy(() => tf.concat(alphas.map((alpha) => tf.add(flat, tf.mul(dir, alpha))), 0) as tf.Tensor2D);
  const latents = unflatten(rows, zs);
  const out = await decodeToPixels(e, latents);
  tf.dispose([...zs, flat, dir, rows, ...latents]);
  return out;
}

export interface RankedImage {
  path: string;
  bpd: number;
}

/** Images scored or encoded per batch (progress is reported per batch). */
const BATCH = 128;

/** Every image's bits per dim, in the set's order, as an evaluation with seed 0 gives them (train/evaluate.ts). */
export function bitsPerDimOf(e: Explorer, set: ImageSet, onBatch?: (done: number, total: number) => void, signal?: AbortSignal): Promise<Float64Array> {
  runtime(e); // with the explorer's threads
  return bitsPerDimOfSet(e.model, set, { nBits: e.nBits, batch: BATCH, seed: 0, signal, onBatch });
}

/** Every image's bits per dim, least typical (highest) first. */
export async function rankByBitsPerDim(e: Explorer, set: ImageSet, onBatch?: (done: number, total: number) => void, signal?: AbortSignal): Promise<RankedImage[]> {
  const bpd = await bitsPerDimOf(e, set, onBatch, signal);
  return set.paths.map((path, i) => ({ path, bpd: bpd[i] })).sort((a, b) => b.bpd - a.bpd);
}

/** Every image's whole latent (all levels flattened, as `flatten` orders them): count x D, row-major. */
export async function latentsOf(e: Explorer, set: ImageSet, onBatch?: (done: number, total: number) => void, signal?: AbortSignal): Promise<{ rows: Float32Array; dims: number }> {
  const per = set.size * set.size * set.channels;
  // A flow keeps the dimension: the latent has as many values as the image.
  const rows = new Float32Array(set.count * per);
  for (let start = 0; start < set.count; start += BATCH) {
    throwIfAborted(signal, 'Encoding');
    const n = Math.min(BATCH, set.count - start);
    const zs = await encodePixels(e, set.pixels.subarray(start * per, (start + n) * per));
    const flat = flatten(zs);
    rows.set(await flat.data(), start * per);
    tf.dispose([...zs, flat]);
    onBatch?.(start + n, set.count);
  }
  return { rows, dims: per };
}
