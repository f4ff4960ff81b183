// The files of an ONNX export: sample.onnx and encode.onnx (export-graphs.ts, weights inside, opset 17)
// and a README saying what goes in and out and how to run them from Python and Node.
import type { WeightsInfo } from '../../../common/weights.ts';
import { describeWeights } from '../../../common/weights.ts';
import { noiseAugmentation } from '../../../common/bits-per-dim-label.ts';
import { classCountOf, type FlowModel } from '../models/flow-model.ts';
import { restoreTaskOf } from '../restore/observation.ts';
import { exportedEncodingGraph, exportedSamplingGraph } from './export-graphs.ts';
import { onnxExportReadme } from './onnx-export-readme.ts';
import { encodeModel } from './onnx-proto.ts';

/** Images per run of an exported graph where neither the person nor the model (FlowModel.inferenceBatch) says. */
export const DEFAULT_ONNX_BATCH = 16;

export const SAMPLE_ONNX = 'sample.onnx';
export const ENCODE_ONNX = 'encode.onnx';
export const ONNX_README = 'README.md';

/** The batch an export of `model` uses: `batch`, else the model's inference batch, else DEFAULT_ONNX_BATCH. */
export function onnxBatchOf(model: FlowModel, batch?: number): number {
  return batch ?? model.inferenceBatch ?? DEFAULT_ONNX_BATCH;
}

/**
 * sample.onnx, encode.onnx and README.md for `model` (n-bit data, `weights` saying which weights
 * it holds) at `batch` images per run. Traces on the wasm backend, which must be active.
 */
export function onnxExportFiles(model: FlowModel, nBits: number, weights: WeightsInfo, batch: number): Record<string, Uint8Array> {
  const sample = exportedSamplingGraph(model, batch, nBits);
  const encode = exportedEncodingGraph(model, batch, nBits);
  const { size, channels } = model.config;
  const readme = onnxExportReadme({
    kind: model.config.kind,
    batch,
    size,
    channels,
    nBits,
    weights: describeWeights(weights),
    noise: sample.inputs.filter((i) => i.name.startsWith('noise.')).map((i) => ({ name: i.name, dims: i.dims.map(Number) })),
    latents: encode.outputs.filter((o) => o.name.startsWith('z.')).map((o) => ({ name: o.name, dims: o.dims.map(Number) })),
    classes: classCountOf(model),
    classNames: model.classLabels?.names ?? [],
    probes: encode.inputs.filter((i) => i.name.startsWith('probes')).map((i) => Number(i.dims[1])),
    noiseSigma: noiseAugmentation(model.config),
    restoreTask: restoreTaskOf(model),
    observation: sample.inputs.find((i) => i.name === 'y')?.dims.map(Number) ?? null,
  });
  return { [SAMPLE_ONNX]: encodeModel(sample), [ENCODE_ONNX]: encodeModel(encode), [ONNX_README]: new TextEncoder().encode(readme) };
}
