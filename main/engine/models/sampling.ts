// Samples for the app, the CLI and training's grids: on onnxruntime when the backend is 'onnx'
// (a session per model and image count, kept while training changes the weights), else split
// across the model's replica threads. Either way the same noise, so the same images.
import * as tf from '../tf.ts';
import { activeBackend } from '../backend.ts';
import { OnnxSampler } from '../onnx/onnx-sampler.ts';
import { loadOrt } from '../onnx/runtime.ts';
import type { Rng } from '../random.ts';
import { drawNoise, type FlowModel } from './flow-model.ts';
import { defaultThreads, sampleImages } from './model-replicas.ts';

const samplers = new WeakMap<FlowModel, Map<number, Promise<OnnxSampler>>>();

function samplerFor(model: FlowModel, n: number): Promise<OnnxSampler> | null {
  const loaded = loadOrt();
  if (activeBackend() !== 'onnx' || !('ort' in loaded)) return null;
  let byCount = samplers.get(model);
  if (!byCount) {
    const sessions = (byCount = new Map<number, Promise<OnnxSampler>>());
    samplers.set(model, sessions);
    model.params.onDispose(() => {
      for (const s of sessions.values()) void s.then((sampler) => sampler.dispose(), () => {});
    });
  }
  let sampler = byCount.get(n);
  if (!sampler) {
    sampler = OnnxSampler.create(loaded.ort, model, n);
    byCount.set(n, sampler);
  }
  return sampler;
}

/** `n` images [n, H, W, C] in model space at `temperature`, as model.sample(n, temperature, rng) draws them. */
export async function samplePixels(model: FlowModel, n: number, temperature: number, rng: Rng, threads = defaultThreads()): Promise<Float32Array> {
  const sampler = samplerFor(model, n);
  if (sampler) return (await sampler).sample(drawNoise(model, n, temperature, rng));
  return tf.readAndDispose(sampleImages(model, n, temperature, rng, threads));
}
