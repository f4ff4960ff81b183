// A pool of replica threads for one model: starts them with the model's weights, copies changed
// weights to shared memory before each command, runs one command per thread while the calling
// thread does its own share, and ends them. What the commands compute is in model-replicas.ts.
import * as tf from '../../tf.ts';
import type { FlowModel } from '../../models/flow-model.ts';
import { exportWeights, modelJson } from '../../models/model-io.ts';
import { sharedFloats, type ReplicaCommand, type ReplicaReply, type VariableSlot } from './replica-protocol.ts';
import { entryPath, ReplicaError, send, spawnReplica, stopReplica, waitForReply, waitUntilReady, type ReplicaThread } from './replica-thread.ts';

type ComputeCommand = Exclude<ReplicaCommand, { op: 'close' }>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Longest a replica may take beyond the caller's own share: 60 s, plus 20 times the caller's time. */
const REPLY_GRACE_MS = 60_000;
const REPLY_SLOWDOWN = 20;

export class ReplicaPool {
  private readonly threads: ReplicaThread[] = [];
  private readonly shared: Float32Array;
  private readonly slots: VariableSlot[];
  /** dataId of each variable when last copied to shared memory (a variable's dataId changes on assign). */
  private readonly synced: unknown[];
  protected closed = false;
  /** Live tensors in each replica after its last command (a leak shows as growth). */
  readonly replicaTensors: number[] = [];

  /** Starts `threads - 1` replicas of `model` (the calling thread is the first); blocks until they are ready. */
  protected constructor(
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
      for (let i = 1; i < threads; i++) this.threads.push(spawnReplica(entry, init));
      for (const [i, t] of this.threads.entries()) waitUntilReady(t, i + 1);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Threads in all, the calling one included. */
  get size(): number {
    return this.threads.length + 1;
  }

  /** Every trainable variable's name and place in a replica's flat gradient output. */
  get variableSlots(): readonly VariableSlot[] {
    return this.slots;
  }

  /** Weights copied to shared memory for the next command; the indices that changed. */
  prepare(): number[] {
    this.ensureOpen();
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
    const sent = this.threads.map((t, i) => {
      const command = commands[i] ?? null;
      if (command) send(t, i + 1, command);
      return command !== null;
    });
    const started = performance.now();
    let result: T;
    try {
      result = own();
    } catch (err) {
      // Let the replicas finish before the caller reuses their memory; the caller's error is the one to report.
      for (const [i, t] of this.threads.entries()) if (sent[i]) this.tryWait(t, i + 1);
      throw err;
    }
    // A replica has the same work as the caller: far longer than that means it is stuck.
    const limit = REPLY_GRACE_MS + REPLY_SLOWDOWN * (performance.now() - started);
    const replies = this.threads.map((t, i) => (sent[i] ? this.wait(t, i + 1, limit) : null));
    return { own: result, replies };
  }

  private tryWait(t: ReplicaThread, index: number): void {
    try {
      this.wait(t, index, REPLY_GRACE_MS);
    } catch {
      // Reported by the caller's own error.
    }
  }

  private wait(t: ReplicaThread, index: number, limitMs: number): ReplicaReply {
    try {
      const reply = waitForReply(t, index, limitMs);
      this.replicaTensors[index - 1] = reply.tensors;
      return reply;
    } catch (err) {
      if (err instanceof ReplicaError && err.threadLost) this.close();
      throw err;
    }
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
    for (const t of this.threads) stopReplica(t);
  }
}
