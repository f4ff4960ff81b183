// A model's replica threads, each with its own TensorFlow.js instance (wasm has no threads in
// Node), and the four inference operations split across them: sample, decode, encode and bits
// per dim. Every call stays synchronous; the pool follows the model's weights and ends with it.
import { availableParallelism } from 'node:os';
import * as tf from '../../tf.ts';
import type { Rng } from '../../random.ts';
import { bitsPerDim, drawNoise, scoringNoiseTensors, type FlowModel } from '../../models/flow-model.ts';
import { classTensor } from '../tfjs-runtime.ts';
import { ReplicaPool } from './replica-pool.ts';

/** Threads a batch is split across unless told otherwise: two cores are where the gain is measured. */
export function defaultThreads(): number {
  return Math.min(2, availableParallelism());
}

/** A share of `n` items: share i of `parts` covers [start, start + count). */
export interface Share {
  start: number;
  count: number;
}

/** n items in `parts` near-equal shares, in order; empty shares are dropped. */
export function splitShares(n: number, parts: number): Share[] {
  const shares: Share[] = [];
  for (let i = 0, start = 0; i < parts; i++) {
    const end = Math.floor((n * (i + 1)) / parts);
    if (end > start) shares.push({ start, count: end - start });
    start = end;
  }
  return shares;
}

/**
 * Rows start..start+count of per-image arrays of n rows each (one array per kind): views, or with
 * `copy` copies to post to a thread, since a posted view carries its whole buffer.
 */
export function shareRows(arrays: readonly Float32Array[], n: number, { start, count }: Share, copy = false): Float32Array[] {
  return arrays.map((values) => {
    const per = values.length / n;
    return copy ? values.slice(start * per, (start + count) * per) : values.subarray(start * per, (start + count) * per);
  });
}

/** A share's copy of the one-hot rows [n, K] to post to its thread (undefined: no classes). */
function classRowsOf(classes: Float32Array | undefined, n: number): (s: Share) => Float32Array | undefined {
  return (s) => (classes ? shareRows([classes], n, s, true)[0] : undefined);
}

const pools = new WeakMap<FlowModel, ModelReplicas>();

export class ModelReplicas extends ReplicaPool {
  /**
   * The replicas of `model` for `threads` threads in all (the caller's included), started on
   * first use and closed when the model is disposed; null when one thread is asked for. The
   * compute runtime uses them only on backends whose kernels run on the calling thread alone.
   */
  static for(model: FlowModel, threads: number): ModelReplicas | null {
    if (threads <= 1) return null;
    const existing = pools.get(model);
    if (existing && !existing.closed && existing.size === threads) return existing;
    existing?.close();
    const pool = new ModelReplicas(model, threads);
    pools.set(model, pool);
    model.params.onDispose(() => pool.close());
    return pool;
  }

  /** model.sample(n, temperature, rng, c, guidance), the images split across the threads (the same images); `classes`: one-hot rows [n, K]. */
  sample(n: number, temperature: number, rng: Rng, classes?: Float32Array, guidance?: number): tf.Tensor4D {
    const noise = drawNoise(this.model, n, temperature, rng);
    const pick = (s: Share) => shareRows(noise, n, s, true);
    const rows = classRowsOf(classes, n);
    const shares = splitShares(n, this.size);
    const changed = this.prepare();
    const commands = shares.slice(1).map((s, i) => this.command(i, { op: 'sample', count: s.count, noise: pick(s), classes: rows(s), guidance }, s.count * this.imageSize(), changed));
    const { own } = this.run(commands, () => tf.tidy(() => this.model.sampleFromNoise(pick(shares[0]), shares[0].count, classTensor(this.model, rows(shares[0]), shares[0].count), guidance)));
    return this.joinBatches([own], commands)[0];
  }

  /** model.decode(zs), the latents' batch split across the threads. */
  decode(zs: tf.Tensor4D[]): tf.Tensor4D {
    const n = zs[0].shape[0];
    const shares = splitShares(n, this.size);
    const values = zs.map((z) => z.dataSync() as Float32Array);
    const dims = zs.map((z) => z.shape[1] * z.shape[2] * z.shape[3]);
    const shapes = zs.map((z) => [z.shape[1], z.shape[2], z.shape[3]] as [number, number, number]);
    const changed = this.prepare();
    const commands = shares.slice(1).map((s, i) => {
      const packed = new Float32Array(s.count * dims.reduce((a, b) => a + b, 0));
      let at = 0;
      for (const [l, v] of values.entries()) {
        packed.set(v.subarray(s.start * dims[l], (s.start + s.count) * dims[l]), at);
        at += s.count * dims[l];
      }
      return this.command(i, { op: 'decode', count: s.count, shapes, input: this.input(i, packed) }, s.count * this.imageSize(), changed);
    });
    const { own } = this.run(commands, () => tf.tidy(() => this.model.decode(zs.map((z) => tf.slice(z, 0, shares[0].count) as tf.Tensor4D))));
    return this.joinBatches([own], commands)[0];
  }

  /** model.encode(x) for n images (NHWC floats), split across the threads. */
  encode(x: Float32Array, n: number): tf.Tensor4D[] {
    const per = this.imageSize();
    const shares = splitShares(n, this.size);
    const changed = this.prepare();
    const commands = shares.slice(1).map((s, i) => this.command(i, { op: 'encode', count: s.count, input: this.input(i, x.subarray(s.start * per, (s.start + s.count) * per)) }, s.count * per, changed));
    const { own } = this.run(commands, () => tf.tidy(() => this.model.encode(this.images(x, shares[0].count))));
    return this.joinBatches(own, commands);
  }

  /** Bits per dim of n images (NHWC floats) with their scoring noise, given `classes` (one-hot rows) if any, split across the threads. */
  bitsPerDim(x: Float32Array, n: number, nBits: number, noise: readonly Float32Array[], classes?: Float32Array): Float32Array {
    const per = this.imageSize();
    const rows = classRowsOf(classes, n);
    const shares = splitShares(n, this.size);
    const changed = this.prepare();
    const commands = shares.slice(1).map((s, i) =>
      this.command(i, { op: 'bitsPerDim', count: s.count, nBits, input: this.input(i, x.subarray(s.start * per, (s.start + s.count) * per)), noise: shareRows(noise, n, s, true), classes: rows(s) }, s.count, changed),
    );
    const { own } = this.run(commands, () => {
      const t = tf.tidy(() => bitsPerDim(this.model, this.images(x, shares[0].count), nBits, classTensor(this.model, rows(shares[0]), shares[0].count), scoringNoiseTensors(this.model, shareRows(noise, n, shares[0]), shares[0].count)));
      const values = t.dataSync() as Float32Array;
      t.dispose();
      return values;
    });
    const out = new Float32Array(n);
    out.set(own, 0);
    for (const [i, c] of commands.entries()) out.set(c.output, shares[i + 1].start);
    return out;
  }

  private imageSize(): number {
    const { size, channels } = this.model.config;
    return size * size * channels;
  }

  /** The first `n` images of x as a tensor. */
  private images(x: Float32Array, n: number): tf.Tensor4D {
    const { size, channels } = this.model.config;
    return tf.tensor4d(x.subarray(0, n * size * size * channels), [n, size, size, channels]);
  }

  /**
   * The caller's tensors (one per level) followed, along the batch, by each replica's output,
   * which holds its levels one after another in the same shapes. Takes ownership of `own`.
   */
  private joinBatches(own: tf.Tensor4D[], commands: { output: Float32Array; count: number }[]): tf.Tensor4D[] {
    if (commands.length === 0) return own;
    const out = tf.tidy(() =>
      own.map((z, l) => {
        const [, h, w, c] = z.shape;
        const offset = own.slice(0, l).reduce((sum, t) => sum + t.size / t.shape[0], 0);
        const parts = commands.map((cmd) => tf.tensor4d(cmd.output.slice(offset * cmd.count, (offset + h * w * c) * cmd.count), [cmd.count, h, w, c]));
        return tf.concat([z, ...parts], 0) as tf.Tensor4D;
      }),
    );
    tf.dispose(own);
    return out;
  }
}
