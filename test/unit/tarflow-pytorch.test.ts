// FlowDesk's TarFlow gives the log-likelihoods of the PyTorch reference (bench/pytorch_tarflow.py,
// built from the same spec) on the same dequantized images, loaded from the same model folder:
// layout, weight names, masks and order reversal all agree. Skipped without torch; fails under CI=true.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { encodeSafetensors } from '../../main/engine/checkpoint/safetensors.ts';
import type { ModelConfig } from '../../main/engine/models/config.ts';
import { createModel } from '../../main/engine/models/create-model.ts';
import type { FlowModel } from '../../main/engine/models/flow-model.ts';
import { exportWeights, modelJson } from '../../main/engine/models/model-io.ts';
import { Rng } from '../../main/engine/random.ts';
import { MODEL_JSON, WEIGHTS_FILE } from '../../main/engine/runs/run-layout.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { perturb } from '../helpers/perturb.ts';
import { requireTorchInCi, RUN_LIMIT_MS, runTorchScript, torchSkipReason } from '../helpers/torch-reference.ts';

// Three blocks (an odd one reverses the order), two layers, two heads of 16 channels, 16 patches
// of 2x2x3. A plain object until ModelConfig's union holds the tarflow kind.
const CONFIG = { kind: 'tarflow', size: 8, channels: 3, patch: 2, depth: 3, hidden: 32, attnLayers: 2, headDim: 16 } satisfies ModelConfig;
const N = 4;
const SHAPE: [number, number, number, number] = [N, 8, 8, 3];

requireTorchInCi();

describe.skipIf(torchSkipReason !== '')(`TarFlow against PyTorch${torchSkipReason ? ` — skipped: ${torchSkipReason}` : ''}`, () => {
  let dir: string;
  let model: FlowModel;
  let pixels: Float32Array;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flowdesk-tarflow-torch-'));
    model = createModel(CONFIG, 3);
    perturb(model.params, 0.05, 11); // the zero-initialised output layers would make every block the identity
    pixels = new Rng(5).fillUniform(new Float32Array(SHAPE.reduce((a, b) => a * b))).map((v) => v - 0.5);
    await writeFile(join(dir, MODEL_JSON), JSON.stringify(modelJson(model, 8)));
    await writeFile(join(dir, WEIGHTS_FILE), encodeSafetensors(exportWeights(model)));
    await writeFile(join(dir, 'images.safetensors'), encodeSafetensors({ x: { dtype: 'float32', shape: SHAPE, data: pixels } }));
  });

  afterAll(async () => {
    model?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the same log p(x) per image, to 1e-5 relative', () => {
    const [{ logprob: theirs }] = runTorchScript('pytorch_tarflow.py', ['logprob', dir, '--images', join(dir, 'images.safetensors'), '--threads', '1']) as { logprob: number[] }[];
    const ours = tf.tidy(() => model.logProb(tf.tensor4d(pixels, SHAPE)).dataSync());
    expect(theirs).toHaveLength(N);
    // Not the identity flow's answer (a standard normal on the pixels): the blocks do transform.
    const identity = Array.from({ length: N }, (_, i) => pixels.subarray((i * pixels.length) / N, ((i + 1) * pixels.length) / N).reduce((s, v) => s - 0.5 * (v * v + Math.log(2 * Math.PI)), 0));
    theirs.forEach((v, i) => expect(Math.abs(v - identity[i])).toBeGreaterThan(1));
    expectClose(ours, theirs, 0, 1e-5);
  }, RUN_LIMIT_MS);
});
