// Copies of one model in worker threads, each with its own TensorFlow.js instance (wasm has no
// threads in Node), so gradients, samples and encodings of a batch split across cores. The
// calling thread computes the first share itself and waits on shared memory for the others,
// so every call stays synchronous. Replicas follow the model's weights and end with the model.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import * as tf from '../tf.ts';
import { FlowDeskError } from '../errors.ts';
import type { Rng } from '../random.ts';
import { bitsPerDim, drawNoise, type FlowModel } from './flow-model.ts';
import { exportWeights, modelJson } from './model-io.ts';
import { SLOT, SLOT_COUNT, STATE, type ReplicaCommand, type ReplicaInit, type ReplicaReply, type VariableSlot } from './model-replica-protocol.ts';

/** A replica thread that failed to start, threw, stopped answering or exited. */
export class ReplicaError extends FlowDeskError {
  constructor(message: string) {
    super('INTERNAL', message);
  }
}

/** Threads a batch is split across unless told otherwise: two cores are where the gain is measured. */
export function defaultThreads(): number {
  return Math.min(2, availableParallelism());
}

/**
 * `n` images from the model at `temperature`, split across `threads` threads when there is more
 * than one image; the same images as model.sample(n, temperature, rng) either way.
 */
export function sampleImages(model: FlowModel, n: number, temperature: number, rng: Rng, threads = defaultThreads()): tf.Tensor4D {
  const pool = n >= 2 ? ModelReplicas.for(model, threads) : null;
  return pool ? pool.sample(n, temperature, rng) : model.sample(n, temperature, rng);
}

/** Backends whose kernels run on the calling thread only, so more threads mean more cores. */
const SPLITTABLE_BACKENDS = new Set(['wasm', 'cpu']);
/** Longest wait for a replica to load TensorFlow.js and build its model. */
const START_TIMEOUT_MS = 120_000;

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

interface ReplicaThread {
  worker: Worker;
  ctrl: Int32Array;
  port: MessagePort;
  /** Number of the last command sent. */
  request: number;
  /** Shared input and output memory, grown as commands need. */
  input: Float32Array;
  output: Float32Array;
  /** Set when the worker thread has ended. */
  exited: boolean;
  ended: Promise<void>;
}

/** The entry module of a replica thread: TypeScript from source, the bundled file when built. */
function entryPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'model-replica-entry.ts'), join(here, 'model-replica.js'), join(here, '..', 'model-replica.js')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new ReplicaError(`The compute thread's entry is missing (looked for ${candidates.join(', ')}).`);
  return found;
}

/** tsx's ES-module API, found through its package exports (its CommonJS build cannot register from a worker). */
function tsxEsmApi(): string {
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  const target = (JSON.parse(readFileSync(pkg, 'utf8')) as { exports: Record<string, { import: string | { default: string } }> }).exports['./esm/api'].import;
  return join(dirname(pkg), typeof target === 'string' ? target : target.default);
}

/**
 * The worker's first code: registers tsx when the entry is TypeScript (tests, the CLI, the app
 * from source), then loads the entry; a failure to load is reported through shared memory.
 */
function bootstrap(entry: string): string {
  const tsx = entry.endsWith('.ts') ? pathToFileURL(tsxEsmApi()).href : null;
  return `
const { workerData } = require('node:worker_threads');
(async () => {
  ${tsx ? `(await import(${JSON.stringify(tsx)})).register();` : ''}
  await import(${JSON.stringify(pathToFileURL(entry).href)});
})().catch((err) => {
  workerData.port.postMessage({ ok: false, message: String((err && err.message) || err), stack: err && err.stack });
  Atomics.store(workerData.ctrl, ${SLOT.state}, ${STATE.failed});
  Atomics.notify(workerData.ctrl, ${SLOT.state});
  Atomics.notify(workerData.ctrl, ${SLOT.done});
});`;
}

type ComputeCommand = Exclude<ReplicaCommand, { op: 'close' }>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function sharedFloats(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(Math.max(1, length) * 4));
}

const pools = new WeakMap<FlowModel, ModelReplicas>();
let liveThreads = 0;

/** Replica threads started and not yet ended, in this process (for checks that none outlive their work). */
export function liveReplicaThreads(): number {
  return liveThreads;
}

export class ModelReplicas {
  private readonly threads: ReplicaThread[] = [];
  private readonly shared: Float32Array;
  private readonly slots: VariableSlot[];
  /** dataId of each variable when last copied to shared memory (a variable's dataId changes on assign). */
  private readonly synced: unknown[];
  private closed = false;
  /** Live tensors in each replica after its last command (a leak shows as growth). */
  readonly replicaTensors: number[] = [];

  /**
   * The replicas of `model` for `threads` threads in all (the caller's included), started on
   * first use and closed when the model is disposed; null when one thread is asked for or the
   * backend runs its own threads (tfjs-node).
   */
  static for(model: FlowModel, threads: number): ModelReplicas | null {
    if (threads <= 1 || !SPLITTABLE_BACKENDS.has(tf.getBackend())) return null;
    const existing = pools.get(model);
    if (existing && !existing.closed && existing.size === threads) return existing;
    existing?.close();
    const pool = new ModelReplicas(model, threads);
    pools.set(model, pool);
    model.params.onDispose(() => pool.close());
    return pool;
  }

  /** Threads in all, the calling one included. */
  get size(): number {
    return this.threads.length + 1;
  }

  private constructor(
    readonly model: FlowModel,
    threads: number,
  ) {
    let offset = 0;
    this.slots = [...model.params.variables].map(([name, v]) => {
      const slot = { name, shape: [...v.shape], offset, size: v.size };
      offset += v.size;
      return slot;
    });
    this.shared = sharedFloats(offset);
    this.synced = this.slots.map(() => null);
    const entry = entryPath();
    // nBits is part of the saved form only; replicas are told it with each command that needs it.
    const init = { backend: tf.getBackend() as 'wasm' | 'cpu', model: modelJson(model, 8), weights: exportWeights(model), shared: this.shared, slots: this.slots };
    try {
      for (let i = 1; i < threads; i++) this.threads.push(this.spawn(entry, init));
      for (const [i, t] of this.threads.entries()) this.waitUntilReady(t, i + 1);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  private spawn(entry: string, init: Omit<ReplicaInit, 'ctrl' | 'port'>): ReplicaThread {
    const ctrl = new Int32Array(new SharedArrayBuffer(SLOT_COUNT * 4));
    const { port1, port2 } = new MessageChannel();
    const workerData: ReplicaInit = { ...init, ctrl, port: port2 };
    const worker = new Worker(bootstrap(entry), { eval: true, workerData, transferList: [port2], stdout: false, stderr: false });
    // Never the reason the process stays alive; close() ends the thread.
    worker.unref();
    port1.unref();
    liveThreads += 1;
    const ended = new Promise<void>((resolve) =>
      worker.once('exit', () => {
        liveThreads -= 1;
        resolve();
      }),
    );
    const thread: ReplicaThread = { worker, ctrl, port: port1, request: 0, input: sharedFloats(1), output: sharedFloats(1), exited: false, ended };
    void ended.then(() => {
      thread.exited = true;
    });
    // Errors also arrive as replies or states; this listener only keeps them from being unhandled.
    worker.on('error', () => {});
    return thread;
  }

  private waitUntilReady(t: ReplicaThread, index: number): void {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Atomics.load(t.ctrl, SLOT.state) === STATE.starting) {
      if (Date.now() > deadline) throw new ReplicaError(`Compute thread ${index} did not start within ${START_TIMEOUT_MS / 1000} s.`);
      Atomics.wait(t.ctrl, SLOT.state, STATE.starting, 500);
    }
    if (Atomics.load(t.ctrl, SLOT.state) !== STATE.ready) {
      const reply = receiveMessageOnPort(t.port)?.message as ReplicaReply | undefined;
      const why = reply && !reply.ok ? reply.message : 'it exited';
      throw new ReplicaError(`Compute thread ${index} could not start: ${why}. Setting threads to 1 works on one core without it.`);
    }
  }

  /** Copies the variables that changed since the last command into shared memory; their indices. */
  private syncWeights(): number[] {
    const changed: number[] = [];
    const vars = [...this.model.params.variables.values()];
    for (const [i, slot] of this.slots.entries()) {
      const v = vars[i];
      if (this.synced[i] === v.dataId) continue;
      this.shared.set(v.dataSync() as Float32Array, slot.offset);
      this.synced[i] = v.dataId;
      changed.push(i);
    }
    return changed;
  }

  /** Shared memory of at least `length` floats for thread `t`'s input or output. */
  private room(t: ReplicaThread, which: 'input' | 'output', length: number): Float32Array {
    if (t[which].length < length) t[which] = sharedFloats(length);
    return t[which].subarray(0, length);
  }

  /**
   * Runs one command per replica (null: nothing for it) while the calling thread runs `own`,
   * then waits for every replica. Throws a ReplicaError naming the thread if one failed.
   */
  run<T>(commands: (ReplicaCommand | null)[], own: () => T): { own: T; replies: (ReplicaReply | null)[] } {
    this.ensureOpen();
    const sent: boolean[] = [];
    for (const [i, t] of this.threads.entries()) {
      const command = commands[i] ?? null;
      sent.push(command !== null);
      if (!command) continue;
      if (t.exited) throw new ReplicaError(`Compute thread ${i + 1} has exited; train or sample again to start a new one.`);
      t.port.postMessage(command);
      t.request += 1;
      Atomics.store(t.ctrl, SLOT.request, t.request);
      Atomics.notify(t.ctrl, SLOT.request);
    }
    const started = performance.now();
    let result: T;
    try {
      result = own();
    } catch (err) {
      // Let the replicas finish before the caller reuses their memory.
      for (const [i, t] of this.threads.entries()) if (sent[i]) this.tryWait(t, i + 1);
      throw err;
    }
    // A replica has the same work as the caller: far longer than that means it is stuck.
    const limit = 60_000 + 20 * (performance.now() - started);
    const replies = this.threads.map((t, i) => (sent[i] ? this.wait(t, i + 1, limit) : null));
    return { own: result, replies };
  }

  private tryWait(t: ReplicaThread, index: number): void {
    try {
      this.wait(t, index, 60_000);
    } catch {
      // The caller's own error is the one to report.
    }
  }

  private wait(t: ReplicaThread, index: number, limitMs: number): ReplicaReply {
    const deadline = Date.now() + limitMs;
    for (;;) {
      const done = Atomics.load(t.ctrl, SLOT.done);
      if (done === t.request) break;
      const state = Atomics.load(t.ctrl, SLOT.state);
      if (state === STATE.exited || state === STATE.failed) {
        this.close();
        throw new ReplicaError(`Compute thread ${index} exited in the middle of its work${this.lastError(t)}.`);
      }
      if (Date.now() > deadline) {
        this.close();
        throw new ReplicaError(`Compute thread ${index} stopped answering (no result after ${Math.round(limitMs / 1000)} s).`);
      }
      Atomics.wait(t.ctrl, SLOT.done, done, 500);
    }
    const reply = receiveMessageOnPort(t.port)?.message as ReplicaReply | undefined;
    if (!reply) throw new ReplicaError(`Compute thread ${index} finished without a result.`);
    if (!reply.ok) throw new ReplicaError(`Compute thread ${index} failed: ${reply.message}`);
    this.replicaTensors[index - 1] = reply.tensors;
    return reply;
  }

  private lastError(t: ReplicaThread): string {
    const reply = receiveMessageOnPort(t.port)?.message as ReplicaReply | undefined;
    return reply && !reply.ok ? `: ${reply.message}` : '';
  }

  /** Command `body` for replica i, with the weights that changed and room for `outputLength` floats. */
  command<B extends DistributiveOmit<ComputeCommand, 'changed' | 'output'>>(i: number, body: B, outputLength: number, changed: number[]): B & { changed: number[]; output: Float32Array } {
    return { ...body, changed, output: this.room(this.threads[i], 'output', outputLength) };
  }

  /** Shared input memory of replica i holding `data`. */
  input(i: number, data: Float32Array): Float32Array {
    const view = this.room(this.threads[i], 'input', data.length);
    view.set(data);
    return view;
  }

  /** Every trainable variable's name and place in a replica's flat gradient output. */
  get variableSlots(): readonly VariableSlot[] {
    return this.slots;
  }

  /** Weights copied to shared memory for the next command; the indices that changed. */
  prepare(): number[] {
    this.ensureOpen();
    return this.syncWeights();
  }

  private ensureOpen(): void {
    if (this.closed) throw new ReplicaError('These compute threads were closed with their model.');
  }

  /** Resolves once every replica thread has ended (after close()). */
  threadsEnded(): Promise<void> {
    return Promise.all(this.threads.map((t) => t.ended)).then(() => undefined);
  }

  /** Ends the threads; later calls fail. Called when the model is disposed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.threads) {
      if (t.exited) continue;
      const idle = Atomics.load(t.ctrl, SLOT.state) === STATE.ready && Atomics.load(t.ctrl, SLOT.done) === t.request;
      if (idle) {
        // Waiting for a command: it disposes its model and ends by itself.
        t.port.postMessage({ op: 'close' } satisfies ReplicaCommand);
        Atomics.store(t.ctrl, SLOT.request, t.request + 1);
        Atomics.notify(t.ctrl, SLOT.request);
      } else {
        // Still starting or stuck in its work: stopped outright.
        void t.worker.terminate();
      }
    }
  }

  /** model.sample(n, temperature, rng), the images split across the threads (the same images). */
  sample(n: number, temperature: number, rng: Rng): tf.Tensor4D {
    const noise = drawNoise(this.model, n, temperature, rng);
    const sizes = this.model.noiseShapes.map(([h, w, c]) => h * w * c);
    // Copies, not views: a posted view would carry its whole buffer.
    const pick = (s: Share) => noise.map((level, l) => level.slice(s.start * sizes[l], (s.start + s.count) * sizes[l]));
    const shares = splitShares(n, this.size);
    const changed = this.prepare();
    const commands = shares.slice(1).map((s, i) => this.command(i, { op: 'sample', count: s.count, noise: pick(s) }, s.count * this.imageSize(), changed));
    const { own } = this.run(commands, () => this.model.sampleFromNoise(pick(shares[0]), shares[0].count));
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

  /** Bits per dim of n images (NHWC floats), split across the threads. */
  bitsPerDim(x: Float32Array, n: number, nBits: number): Float32Array {
    const per = this.imageSize();
    const shares = splitShares(n, this.size);
    const changed = this.prepare();
    const commands = shares.slice(1).map((s, i) => this.command(i, { op: 'bitsPerDim', count: s.count, nBits, input: this.input(i, x.subarray(s.start * per, (s.start + s.count) * per)) }, s.count, changed));
    const { own } = this.run(commands, () => {
      const t = tf.tidy(() => bitsPerDim(this.model, this.images(x, shares[0].count), nBits));
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
