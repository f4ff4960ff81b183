// A replica thread (see replica-pool.ts): loads the backend it is told, builds the model from
// model.json and its weights through model-io, then runs commands until told to close.
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import * as tf from '../../tf.ts';
import { initBackend } from '../../backend.ts';
import { bitsPerDim, scoringNoiseTensors, type FlowModel } from '../../models/flow-model.ts';
import { loadModel } from '../../models/model-io.ts';
import { batchGradients } from '../../train/gradients.ts';
import { classTensor } from '../tfjs-runtime.ts';
import { SLOT, STATE, type ReplicaCommand, type ReplicaInit, type ReplicaReply } from './replica-protocol.ts';

const init = workerData as ReplicaInit;
const { ctrl, port } = init;

function signal(state: number): void {
  Atomics.store(ctrl, SLOT.state, state);
  Atomics.notify(ctrl, SLOT.state);
  Atomics.notify(ctrl, SLOT.done);
}

function refresh(model: FlowModel, changed: number[]): void {
  const vars = model.params.variables;
  tf.tidy(() => {
    for (const i of changed) {
      const slot = init.slots[i];
      // slice(): a private copy, as a backend may keep the array it is given.
      vars.get(slot.name)!.assign(tf.tensor(init.shared.slice(slot.offset, slot.offset + slot.size), slot.shape));
    }
  });
}

function images(model: FlowModel, input: Float32Array, count: number): tf.Tensor4D {
  const { size, channels } = model.config;
  return tf.tensor4d(input.slice(0, count * size * size * channels), [count, size, size, channels]);
}

/** Runs one command, writing into its output memory; the reply carries any scalar. */
function execute(model: FlowModel, c: Exclude<ReplicaCommand, { op: 'close' }>): { ok: true; loss?: number } {
  refresh(model, c.changed);
  switch (c.op) {
    case 'gradients': {
      const { loss, grads } = batchGradients(model, c.input.slice(), c.count, c.nBits, c.microBatch, c.total, c.inputs);
      for (const slot of init.slots) c.output.set(grads[slot.name].dataSync() as Float32Array, slot.offset);
      tf.dispose(Object.values(grads));
      return { ok: true, loss };
    }
    case 'sample': {
      const x = tf.tidy(() => model.sampleFromNoise(c.noise, c.count, classTensor(model, c.classes, c.count), c.guidance));
      c.output.set(x.dataSync() as Float32Array);
      x.dispose();
      return { ok: true };
    }
    case 'decode': {
      const x = tf.tidy(() => {
        let at = 0;
        const zs = c.shapes.map(([h, w, ch]) => {
          const z = tf.tensor4d(c.input.slice(at, at + c.count * h * w * ch), [c.count, h, w, ch]);
          at += z.size;
          return z;
        });
        return model.decode(zs);
      });
      c.output.set(x.dataSync() as Float32Array);
      x.dispose();
      return { ok: true };
    }
    case 'encode': {
      const zs = tf.tidy(() => model.encode(images(model, c.input, c.count)));
      let at = 0;
      for (const z of zs) {
        c.output.set(z.dataSync() as Float32Array, at);
        at += z.size;
      }
      tf.dispose(zs);
      return { ok: true };
    }
    case 'bitsPerDim': {
      const bpd = tf.tidy(() => bitsPerDim(model, images(model, c.input, c.count), c.nBits, classTensor(model, c.classes, c.count), scoringNoiseTensors(model, c.noise, c.count)));
      c.output.set(bpd.dataSync() as Float32Array);
      bpd.dispose();
      return { ok: true };
    }
  }
}

function serve(model: FlowModel): void {
  let seen = 0;
  for (;;) {
    Atomics.wait(ctrl, SLOT.request, seen);
    seen = Atomics.load(ctrl, SLOT.request);
    const command = receiveMessageOnPort(port)?.message as ReplicaCommand | undefined;
    if (!command || command.op === 'close') return;
    let reply: ReplicaReply;
    try {
      reply = { ...execute(model, command), tensors: tf.memory().numTensors };
    } catch (err) {
      const e = err as Error;
      reply = { ok: false, message: e?.message ?? String(err), stack: e?.stack };
    }
    port.postMessage(reply);
    Atomics.store(ctrl, SLOT.done, seen);
    Atomics.notify(ctrl, SLOT.done);
  }
}

async function main(): Promise<void> {
  let model: FlowModel;
  try {
    await initBackend({ force: init.backend });
    model = loadModel(init.model, init.weights, 'the model sent to a compute thread');
  } catch (err) {
    port.postMessage({ ok: false, message: (err as Error)?.message ?? String(err) } satisfies ReplicaReply);
    signal(STATE.failed);
    return;
  }
  signal(STATE.ready);
  serve(model);
  model.dispose();
}

process.on('exit', () => signal(STATE.exited));
await main();
port.close();
