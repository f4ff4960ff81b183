// One replica thread from the calling thread's side: how it starts (tsx registered when the
// entry is TypeScript), how a command is sent, and how its reply is waited for on shared memory.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { FlowDeskError } from '../../errors.ts';
import { findThreadEntry, importEntrySource } from '../thread-loader.ts';
import { SLOT, SLOT_COUNT, STATE, sharedFloats, type ReplicaCommand, type ReplicaInit, type ReplicaReply } from './replica-protocol.ts';

/** A replica thread that failed to start, threw, stopped answering or exited. */
export class ReplicaError extends FlowDeskError {
  constructor(
    message: string,
    /** The thread is gone or stuck: its pool must be closed. */
    readonly threadLost = false,
  ) {
    super('INTERNAL', message);
  }
}

/** Longest wait for a replica to load TensorFlow.js and build its model. */
const START_TIMEOUT_MS = 120_000;

export interface ReplicaThread {
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

let liveThreads = 0;

/** Replica threads started and not yet ended, in this process (for checks that none outlive their work). */
export function liveReplicaThreads(): number {
  return liveThreads;
}

/** The entry module of a replica thread: TypeScript from source, the bundled file when built. */
export function entryPath(): string {
  const { found, candidates } = findThreadEntry(dirname(fileURLToPath(import.meta.url)), 'replica-entry', 'model-replica');
  if (!found) throw new ReplicaError(`The compute thread's entry is missing (looked for ${candidates.join(', ')}).`);
  return found;
}

/**
 * The worker's first code: registers tsx when the entry is TypeScript (tests, the CLI, the app
 * from source), then loads the entry; a failure to load is reported through shared memory.
 */
function bootstrap(entry: string): string {
  return `
const { workerData } = require('node:worker_threads');
(async () => {
  ${importEntrySource(entry)}
})().catch((err) => {
  workerData.port.postMessage({ ok: false, message: String((err && err.message) || err), stack: err && err.stack });
  Atomics.store(workerData.ctrl, ${SLOT.state}, ${STATE.failed});
  Atomics.notify(workerData.ctrl, ${SLOT.state});
  Atomics.notify(workerData.ctrl, ${SLOT.done});
});`;
}

/** Starts a thread running `entry` with `init`; it signals ready (or failed) through its control memory. */
export function spawnReplica(entry: string, init: Omit<ReplicaInit, 'ctrl' | 'port'>): ReplicaThread {
  const ctrl = new Int32Array(new SharedArrayBuffer(SLOT_COUNT * 4));
  const { port1, port2 } = new MessageChannel();
  const workerData: ReplicaInit = { ...init, ctrl, port: port2 };
  const worker = new Worker(bootstrap(entry), { eval: true, workerData, transferList: [port2], stdout: false, stderr: false });
  // Never the reason the process stays alive; closing the pool ends the thread.
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

/** Blocks until thread number `index` has built its model; throws why it could not. */
export function waitUntilReady(t: ReplicaThread, index: number): void {
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

/** Posts `command` and wakes the thread. */
export function send(t: ReplicaThread, index: number, command: ReplicaCommand): void {
  if (t.exited) throw new ReplicaError(`Compute thread ${index} has exited; train or sample again to start a new one.`);
  t.port.postMessage(command);
  t.request += 1;
  Atomics.store(t.ctrl, SLOT.request, t.request);
  Atomics.notify(t.ctrl, SLOT.request);
}

/** Blocks until the thread answers its last command (at most `limitMs`); its reply, or a ReplicaError. */
export function waitForReply(t: ReplicaThread, index: number, limitMs: number): ReplicaReply & { ok: true } {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const done = Atomics.load(t.ctrl, SLOT.done);
    if (done === t.request) break;
    const state = Atomics.load(t.ctrl, SLOT.state);
    if (state === STATE.exited || state === STATE.failed) throw new ReplicaError(`Compute thread ${index} exited in the middle of its work${lastError(t)}.`, true);
    if (Date.now() > deadline) throw new ReplicaError(`Compute thread ${index} stopped answering (no result after ${Math.round(limitMs / 1000)} s).`, true);
    Atomics.wait(t.ctrl, SLOT.done, done, 500);
  }
  const reply = receiveMessageOnPort(t.port)?.message as ReplicaReply | undefined;
  if (!reply) throw new ReplicaError(`Compute thread ${index} finished without a result.`);
  if (!reply.ok) throw new ReplicaError(`Compute thread ${index} failed: ${reply.message}`);
  return reply;
}

function lastError(t: ReplicaThread): string {
  const reply = receiveMessageOnPort(t.port)?.message as ReplicaReply | undefined;
  return reply && !reply.ok ? `: ${reply.message}` : '';
}

/** Ends a thread: an idle one is told to close (it disposes its model); a busy or starting one is terminated. */
export function stopReplica(t: ReplicaThread): void {
  if (t.exited) return;
  const idle = Atomics.load(t.ctrl, SLOT.state) === STATE.ready && Atomics.load(t.ctrl, SLOT.done) === t.request;
  if (idle) {
    t.port.postMessage({ op: 'close' } satisfies ReplicaCommand);
    Atomics.store(t.ctrl, SLOT.request, t.request + 1);
    Atomics.notify(t.ctrl, SLOT.request);
  } else {
    void t.worker.terminate();
  }
}
