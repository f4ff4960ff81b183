// Data-parallel work across model replicas (worker threads, one wasm instance each): gradients,
// samples, encodings and bits per dim equal the one-thread results, replicas follow the
// model's weights, a failing replica surfaces as a clear error, and the threads end with the model
// (and with training, finished or cancelled).
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { initBackend } from '../../main/engine/backend.ts';
import { resolveModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import { bitsPerDim, scoringNoiseOf, scoringNoiseTensors, type FlowModel } from '../../main/engine/models/flow-model.ts';
import { ModelReplicas, splitShares } from '../../main/engine/runtime/replicas/model-replicas.ts';
import { liveReplicaThreads, ReplicaError } from '../../main/engine/runtime/replicas/replica-thread.ts';
import { Rng } from '../../main/engine/random.ts';
import { parallelGradients, stepThreads } from '../../main/engine/runtime/replicas/replica-gradients.ts';
import { batchGradients } from '../../main/engine/train/gradients.ts';
import { drawValues } from '../../main/engine/train/batches.ts';
import { classRows, oneHot } from '../../main/engine/data/one-hot.ts';
import { Optimizer, resolveOptimizerConfig } from '../../main/engine/train/optimizer.ts';
import { train } from '../../main/engine/train/trainer.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';
import { perturb } from '../helpers/perturb.ts';

const SIZE = 8;
const PER = SIZE * SIZE;
let model: FlowModel;

function images(n: number, seed: number): Float32Array {
  return new Rng(seed).fillUniform(new Float32Array(n * PER)).map((v) => v - 0.5);
}

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  model = createModel({ kind: 'glow', size: SIZE, channels: 1, levels: 2, depth: 2, hidden: 16 }, 0);
  model.initialise(tf.tensor4d(images(16, 1), [16, SIZE, SIZE, 1]));
  perturb(model.params, 0.05);
});

afterAll(() => {
  model.dispose();
});

/** Resolves once `done()` holds, checking every 20 ms for up to 10 s. */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done(); waited += 20) {
    if (waited > 10_000) throw new Error('timed out waiting for replica threads to end');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function expectSameGradients(a: ReturnType<typeof batchGradients>, b: ReturnType<typeof batchGradients>): void {
  expect(a.loss).toBeCloseTo(b.loss, 5);
  expect(Object.keys(a.grads).sort()).toEqual(Object.keys(b.grads).sort());
  for (const name of Object.keys(b.grads)) expectClose(a.grads[name], b.grads[name], 1e-5, 1e-3);
}

describe('splitShares', () => {
  it('covers every item once in near-equal shares and drops empty ones', () => {
    expect(splitShares(7, 2)).toEqual([{ start: 0, count: 3 }, { start: 3, count: 4 }]);
    expect(splitShares(1, 3)).toEqual([{ start: 0, count: 1 }]);
  });
});

describe('stepThreads', () => {
  it('splits real models across two cores, keeps toy ones on one thread, and obeys a given count', () => {
    const toy = resolveModelConfig({ kind: 'glow', size: 8, channels: 1, levels: 2, depth: 2, hidden: 16 });
    const small = resolveModelConfig({ kind: 'glow', size: 16, channels: 1, levels: 2, depth: 4, hidden: 64 });
    expect(stepThreads(toy, 8, null)).toBe(1);
    expect(stepThreads(small, 32, null)).toBe(Math.min(2, availableParallelism()));
    expect(stepThreads(toy, 8, 3)).toBe(3);
    expect(stepThreads(small, 32, 1)).toBe(1);
  });
});

describe('parallel gradients', () => {
  it('equal the one-thread gradients for 2 and 3 threads, with and without micro-batches', () => {
    const data = images(7, 2);
    const single = batchGradients(model, data, 7, 8, 7);
    for (const [threads, micro] of [[2, 7], [2, 2], [3, 7]]) {
      const split = parallelGradients(model, data, 7, 8, micro, threads);
      expectSameGradients(split, single);
      tf.dispose(Object.values(split.grads));
    }
    tf.dispose(Object.values(single.grads));
  });

  it("equal the one-thread gradients and samples of a class-conditional model, each share with its images' classes", () => {
    const conditional = createModel({ kind: 'glow', size: SIZE, channels: 1, levels: 2, depth: 1, hidden: 8, classes: 3, classWeight: 0.5 }, 0);
    conditional.initialise(tf.tensor4d(images(8, 4), [8, SIZE, SIZE, 1]));
    perturb(conditional.params, 0.05);
    const data = images(7, 5);
    const classes = oneHot([0, 1, 2, 2, 1, -1, 0], 3);
    const single = batchGradients(conditional, data, 7, 8, 7, 7, [classes]);
    const split = parallelGradients(conditional, data, 7, 8, 7, 2, [classes]);
    expectSameGradients(split, single);
    tf.dispose([...Object.values(split.grads), ...Object.values(single.grads)]);
    const rows = classRows(3, 2);
    const here = tf.tidy(() => conditional.sample(6, 0.8, new Rng(6), tf.tensor2d(rows, [6, 3])));
    expectClose(ModelReplicas.for(conditional, 2)!.sample(6, 0.8, new Rng(6), rows), here, 1e-5, 1e-4);
    conditional.dispose();
  });

  it("equal the one-thread gradients and scores of a model trained for inpainting, each share with its images' holes", () => {
    const restoring = createModel({ kind: 'glow', size: SIZE, channels: 1, levels: 2, depth: 1, hidden: 8, restoreTask: 'inpaint' }, 0);
    restoring.initialise(tf.tensor4d(images(8, 4), [8, SIZE, SIZE, 1]));
    perturb(restoring.params, 0.05);
    const data = images(7, 5);
    const holes = drawValues(scoringNoiseOf(restoring), 7, new Rng(3));
    const single = batchGradients(restoring, data, 7, 8, 7, 7, holes);
    const split = parallelGradients(restoring, data, 7, 8, 7, 2, holes);
    expectSameGradients(split, single);
    tf.dispose([...Object.values(split.grads), ...Object.values(single.grads)]);
    const here = tf.tidy(() => bitsPerDim(restoring, tf.tensor4d(data, [7, SIZE, SIZE, 1]), 8, undefined, scoringNoiseTensors(restoring, holes, 7)));
    expectClose(ModelReplicas.for(restoring, 2)!.bitsPerDim(data, 7, 8, holes), here, 1e-4, 1e-5);
    restoring.dispose();
  });

  it('follow the model as its weights change, and leak no tensors on either side', () => {
    const optimizer = new Optimizer(resolveOptimizerConfig({ lr: 1e-2, warmup: 0 }), model.params.variables);
    const step = (seed: number) => {
      const { grads } = parallelGradients(model, images(8, seed), 8, 8, 8, 2);
      optimizer.apply(grads, Optimizer.gradNorm(grads));
      tf.dispose(Object.values(grads));
    };
    step(10);
    const replicas = ModelReplicas.for(model, 2)!;
    const before = { here: tf.memory().numTensors, there: [...replicas.replicaTensors] };
    for (let i = 0; i < 20; i++) step(11 + i);
    expect(tf.memory().numTensors).toBe(before.here);
    expect(replicas.replicaTensors).toEqual(before.there);
    // After 21 updates the replica must hold the updated weights: compare with one thread again.
    const data = images(6, 3);
    const split = parallelGradients(model, data, 6, 8, 6, 2);
    const single = batchGradients(model, data, 6, 8, 6);
    expectSameGradients(split, single);
    tf.dispose([...Object.values(split.grads), ...Object.values(single.grads)]);
    optimizer.dispose();
  });
});

describe('parallel inference', () => {
  it('samples, encodes, decodes and scores as one thread does', () => {
    const replicas = ModelReplicas.for(model, 2)!;
    const a = replicas.sample(5, 0.8, new Rng(4));
    const b = model.sample(5, 0.8, new Rng(4));
    expectClose(a, b, 1e-4, 1e-4);
    const x = images(5, 5);
    const zs = replicas.encode(x, 5);
    const expected = model.encode(tf.tensor4d(x, [5, SIZE, SIZE, 1]));
    expect(zs.length).toBe(expected.length);
    for (const [i, z] of zs.entries()) expectClose(z, expected[i], 1e-4, 1e-4);
    const decoded = replicas.decode(zs);
    expectClose(decoded, model.decode(expected), 1e-4, 1e-4);
    expectClose(decoded, tf.tensor4d(x, [5, SIZE, SIZE, 1]), 1e-4);
    const bpd = replicas.bitsPerDim(x, 5, 8, []);
    expectClose(bpd, tf.tidy(() => bitsPerDim(model, tf.tensor4d(x, [5, SIZE, SIZE, 1]), 8)), 1e-4, 1e-5);
    tf.dispose([a, b, ...zs, ...expected]);
  });
});

describe('replica failures and lifetime', () => {
  it('surfaces an exception in a replica as a clear error, and stays usable', () => {
    const replicas = ModelReplicas.for(model, 2)!;
    // Input far shorter than the images it claims: the replica's tensor constructor throws.
    const bad = replicas.command(0, { op: 'bitsPerDim', count: 4, nBits: 8, input: replicas.input(0, new Float32Array(3)), noise: [] }, 4, replicas.prepare());
    expect(() => replicas.run([bad], () => 0)).toThrow(ReplicaError);
    expect(() => replicas.run([bad], () => 0)).toThrow(/Compute thread 1 failed: .*shape/);
    const x = images(4, 6);
    expectClose(replicas.bitsPerDim(x, 4, 8, []), tf.tidy(() => bitsPerDim(model, tf.tensor4d(x, [4, SIZE, SIZE, 1]), 8)), 1e-4, 1e-5);
  });

  it('ends its threads when the model is disposed', async () => {
    const own = createModel({ kind: 'glow', size: SIZE, channels: 1, levels: 1, depth: 1, hidden: 4 }, 1);
    const replicas = ModelReplicas.for(own, 2)!;
    const x = images(2, 7);
    expect(replicas.bitsPerDim(x, 2, 8, []).length).toBe(2);
    own.dispose();
    await replicas.threadsEnded();
    expect(() => replicas.bitsPerDim(x, 2, 8, [])).toThrow(/closed/);
  });

  it('ends with training, whether it finishes or is cancelled', async () => {
    const folder = await makeImageFolder({ count: 24, size: SIZE, channels: 1 });
    const runsDir = await mkdtemp(join(tmpdir(), 'flowdesk-replicas-'));
    try {
      const before = liveReplicaThreads();
      const common = { folder: folder.dir, model: { kind: 'glow', size: SIZE, channels: 1, levels: 1, depth: 1, hidden: 8 } as const, runsDir, cacheDir: null, backend: 'wasm' as const };
      let during = 0;
      const done = await train({ ...common, train: { batch: 4, steps: 3, evalEvery: 100, threads: 2 }, onEvent: (e) => { if (e.type === 'step') during = liveReplicaThreads(); } });
      expect(done.reason).toBe('steps');
      expect(during).toBe(before + 1);
      await until(() => liveReplicaThreads() === before);
      const controller = new AbortController();
      const cancelled = await train({ ...common, train: { batch: 4, steps: 1000, evalEvery: 1000, threads: 2 }, signal: controller.signal, onEvent: (e) => { if (e.type === 'step' && e.step === 2) controller.abort(); } });
      expect(cancelled.reason).toBe('cancelled');
      await until(() => liveReplicaThreads() === before);
    } finally {
      await folder.cleanup();
      await rm(runsDir, { recursive: true, force: true });
    }
  });

  it('is not used for one thread', () => {
    expect(ModelReplicas.for(model, 1)).toBeNull();
  });
});
