// What a replica pool (the calling thread) and a replica's worker thread say to each other: a
// few counters in shared memory to wake and wait, commands and replies as port messages.
import type { MessagePort } from 'node:worker_threads';
import type { NamedArray } from '../../checkpoint/safetensors.ts';
import type { ModelJson } from '../../models/model-io.ts';

/** Slots of the control Int32Array: a command counter, the last finished command, the state. */
export const SLOT = { request: 0, done: 1, state: 2 } as const;
export const SLOT_COUNT = 4;

export const STATE = { starting: 0, ready: 1, failed: 2, exited: 3 } as const;

/** Float32 memory both threads see, at least one element long. */
export function sharedFloats(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(Math.max(1, length) * 4));
}

/** Where one trainable variable lives in the shared weights array. */
export interface VariableSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** workerData of a replica thread. */
export interface ReplicaInit {
  ctrl: Int32Array;
  /** Commands in, replies out. */
  port: MessagePort;
  backend: 'wasm' | 'cpu';
  model: ModelJson;
  weights: Record<string, NamedArray>;
  /** Every trainable variable as float32 in shared memory, written by the calling thread. */
  shared: Float32Array;
  slots: VariableSlot[];
}

interface Compute {
  /** Indices into `slots` of the variables to refresh from shared memory first. */
  changed: number[];
  count: number;
  /** Shared memory the replica writes its result into. */
  output: Float32Array;
}

export type ReplicaCommand =
  /** `inputs`: the share's step inputs (flow-model.ts' stepInputsOf: training noise, classes), one array per kind. */
  | (Compute & { op: 'gradients'; input: Float32Array; inputs: Float32Array[]; total: number; nBits: number; microBatch: number })
  /** `classes`: the share's one-hot rows, for a conditional model; `guidance`: FlowModel.sample's weight. */
  | (Compute & { op: 'sample'; noise: Float32Array[]; classes?: Float32Array; guidance?: number })
  /** `input` holds each level's latents of the share one level after another, in `shapes` [H, W, C]. */
  | (Compute & { op: 'decode'; input: Float32Array; shapes: [number, number, number][] })
  | (Compute & { op: 'encode'; input: Float32Array })
  /** `noise`: the share's scoring noise (FlowModel.scoringNoise), one array per kind; `classes`: the share's one-hot rows to score given. */
  | (Compute & { op: 'bitsPerDim'; input: Float32Array; nBits: number; noise: Float32Array[]; classes?: Float32Array })
  | { op: 'close' };

/** `tensors`: the replica's live tensor count after the command (leak checks). */
export type ReplicaReply = { ok: true; loss?: number; tensors: number } | { ok: false; message: string; stack?: string };
