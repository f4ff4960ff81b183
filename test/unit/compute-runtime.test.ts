// One compute runtime per model, chosen once from the backend: onnxruntime sessions on 'onnx',
// replica threads on wasm and cpu, tfjs in-thread elsewhere. On onnx, decoding runs a traced
// session as encoding does, and `flowdesk sample`, `eval` and `interpolate` take the route the
// app's worker takes (its model cache picks the same runtime), creating onnxruntime sessions.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { initBackend } from '../../main/engine/backend.ts';
import { encodeSafetensors } from '../../main/engine/checkpoint/safetensors.ts';
import type { ModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import type { FlowModel } from '../../main/engine/models/flow-model.ts';
import { exportWeights, modelJson } from '../../main/engine/models/model-io.ts';
import { OnnxDecoder } from '../../main/engine/onnx/onnx-decoder.ts';
import { OnnxForward } from '../../main/engine/onnx/onnx-forward.ts';
import { OnnxSampler } from '../../main/engine/onnx/onnx-sampler.ts';
import { loadOrt } from '../../main/engine/onnx/runtime.ts';
import { Rng } from '../../main/engine/random.ts';
import { runtimeFor } from '../../main/engine/runtime/runtime-for.ts';
import { evalCommand } from '../../main/cli/eval-command.ts';
import { interpolateCommand } from '../../main/cli/explore-commands.ts';
import { sampleCommand } from '../../main/cli/sample-command.ts';
import { ModelCache } from '../../main/worker/model-cache.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';
import { couplingScaleInTail, perturb } from '../helpers/perturb.ts';

const loaded = loadOrt();
const why = 'reason' in loaded ? ` — skipped: ${loaded.reason}` : '';
const glow: ModelConfig = { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 1, hidden: 8 };

describe('the runtime of a model', () => {
  it('is chosen once from the backend, and replaced only when told another', () => {
    const model = createModel(glow, 0);
    try {
      expect(runtimeFor(model, { backend: 'wasm', threads: 1 }).kind).toBe('replicas');
      const first = runtimeFor(model);
      expect(runtimeFor(model)).toBe(first);
      expect(runtimeFor(model, { threads: 1 })).toBe(first);
      expect(runtimeFor(model, { backend: 'node' }).kind).toBe('tfjs');
      expect(runtimeFor(model, { backend: 'cpu' }).kind).toBe('replicas');
    } finally {
      model.dispose();
    }
  });
});

describe.skipIf(!('ort' in loaded))(`the onnx runtime${why}`, () => {
  let folder: Awaited<ReturnType<typeof makeImageFolder>>;
  let tmp: string;
  const previousBackend = process.env.FLOWDESK_BACKEND;

  beforeAll(async () => {
    await initBackend({ force: 'onnx' });
    folder = await makeImageFolder({ count: 20, size: 8, channels: 1 });
    tmp = await mkdtemp(join(tmpdir(), 'flowdesk-runtime-'));
  });
  afterAll(async () => {
    await folder.cleanup();
    await rm(tmp, { recursive: true, force: true });
    await initBackend({ force: 'wasm' });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    if (previousBackend === undefined) delete process.env.FLOWDESK_BACKEND;
    else process.env.FLOWDESK_BACKEND = previousBackend;
  });

  const models: [string, ModelConfig][] = [
    ['Glow', glow],
    ['NICE', { kind: 'nice', size: 8, channels: 1, depth: 2, hidden: 16 }],
  ];
  for (const [name, config] of models) {
    it(`decodes on a session as model.decode does, in padded batches and below them: ${name}`, async () => {
      const decoder = vi.spyOn(OnnxDecoder, 'create');
      const model = createModel(config, 3);
      perturb(model.params, 0.05);
      try {
        const runtime = runtimeFor(model, { threads: 1 });
        expect(runtime.kind).toBe('onnx');
        for (const n of [70, 20, 3]) {
          const x = tf.tensor4d(new Rng(n).fillUniform(new Float32Array(n * 64)).map((v) => v - 0.5), [n, 8, 8, 1]);
          const zs = model.encode(x);
          const want = model.decode(zs);
          expectClose(await runtime.decode(zs), want, 1e-4, 1e-4);
          tf.dispose([x, ...zs, want]);
        }
        // One session serves every batch of 16 images or more; 3 images stay on tfjs.
        expect(decoder).toHaveBeenCalledTimes(1);
      } finally {
        model.dispose();
      }
    });
  }

  /** A model folder (model.json + weights) as `flowdesk export` writes it. */
  async function modelFolder(model: FlowModel): Promise<string> {
    const dir = await mkdtemp(join(tmp, 'model-'));
    await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson(model, 8)));
    await writeFile(join(dir, 'weights.safetensors'), encodeSafetensors(exportWeights(model)));
    return dir;
  }

  it('runs flowdesk sample, eval and interpolate on onnxruntime, as the app worker does', async () => {
    process.env.FLOWDESK_BACKEND = 'onnx';
    const source = createModel(glow, 4);
    perturb(source.params, 0.05);
    const dir = await modelFolder(source);
    source.dispose();
    const sampler = vi.spyOn(OnnxSampler, 'create');
    const forward = vi.spyOn(OnnxForward, 'create');
    const decoder = vi.spyOn(OnnxDecoder, 'create');
    const log: string[] = [];
    const out = (name: string) => join(tmp, name);

    expect(await sampleCommand([dir, '--n', '6', '-o', out('grid.png')], (l) => log.push(l))).toBe(0);
    expect(sampler).toHaveBeenCalledTimes(1);
    expect(sampler.mock.calls[0][2]).toBe(6);
    expect((await stat(out('grid.png'))).size).toBeGreaterThan(0);

    expect(await evalCommand([dir, folder.dir, '--json'], (l) => log.push(l))).toBe(0);
    expect(forward).toHaveBeenCalledTimes(1);
    expect(JSON.parse(log.at(-1)!).images).toBe(20);

    // Four images, a 4 x 4 grid: 16 frames, decoded by a session.
    const four = folder.good.slice(0, 4);
    expect(await interpolateCommand([dir, ...four, '--steps', '4', '-o', out('grid4.png')], (l) => log.push(l))).toBe(0);
    expect(decoder).toHaveBeenCalledTimes(1);

    // The app's worker keeps the same model with the runtime of the same kind.
    const cache = new ModelCache();
    const explorer = await cache.forRun(dir);
    expect(runtimeFor(explorer.model).kind).toBe('onnx');
    explorer.model.dispose();
  });

  it('says how many samples flowdesk sample clipped, from a model whose scale is in the far tail', async () => {
    const source = createModel(glow, 5);
    couplingScaleInTail(source.params);
    const dir = await modelFolder(source);
    source.dispose();
    const log: string[] = [];
    expect(await sampleCommand([dir, '--n', '6', '-o', join(tmp, 'tail.png')], (l) => log.push(l))).toBe(0);
    // Every image passes through the coupling that divides by ~1e-7.
    expect(log.at(-1)).toBe('6 of 6 samples had values outside the image range (clipped)');
  });
});
