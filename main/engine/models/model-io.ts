// A model to and from its saved form: model.json (format, config, whether ActNorm is
// initialised) and named float32/int32 arrays for weights.safetensors. Loading checks every
// name and shape, and never re-initialises ActNorm.
import * as tf from '../tf.ts';
import type { NamedArray } from '../checkpoint/safetensors.ts';
import { CheckpointError, FlowDeskError } from '../errors.ts';
import { netOutputsPerValue } from '../flows/coupling.ts';
import { tarflowMatrixWeights } from '../flows/tarflow/tarflow-size.ts';
import { resolveStoredModelConfig, type ResolvedModelConfig } from './config.ts';
import { createModel } from './create-model.ts';
import { classCountOf, type ClassLabels, type FlowModel } from './flow-model.ts';
import { unetBlockWeights } from './unet-velocity.ts';
import { LAB_MODEL_FORMAT } from '../../../common/lab/lab-catalog.ts';

export const MODEL_FORMAT = 'flowdesk.model';
/**
 * 2: Glow's config names its coupling network and top prior (`couplingNet`, `topPrior`). A
 * version 1 file predates them and means the layers of then (a bias network, a per-position top
 * prior): `resolveStoredModelConfig` fills them in so, and it loads as it was written.
 */
export const MODEL_FORMAT_VERSION = 2;
/** Every version this FlowDesk reads. */
const READABLE_VERSIONS: readonly number[] = [1, MODEL_FORMAT_VERSION];

export interface ModelJson {
  format: typeof MODEL_FORMAT;
  version: number;
  config: ResolvedModelConfig;
  /** Whether ActNorm layers hold data-initialised values (loading must not redo it). */
  initialised: boolean;
  /** Bits per colour channel of the training data: part of how bits per dim are measured. */
  nBits: number;
  /** A conditional model's (config.classes > 0) class names, in index order. */
  classNames?: string[];
  /** p(y): each class's share of the training images, in index order (for unconditional bits per dim). */
  classFrequencies?: number[];
}

export function modelJson(model: FlowModel, nBits: number): ModelJson {
  const json: ModelJson = { format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, config: model.config, initialised: model.initialised, nBits };
  const labels = model.classLabels;
  return labels ? { ...json, classNames: [...labels.names], classFrequencies: [...labels.frequencies] } : json;
}

/** The class names and frequencies a model.json must hold for `classes` classes; `source` names the file. */
function parsedClassLabels(v: Partial<ModelJson>, classes: number, source: string): ClassLabels {
  const { classNames: names, classFrequencies: frequencies } = v;
  if (!Array.isArray(names) || names.length !== classes || names.some((n) => typeof n !== 'string')) {
    throw new CheckpointError('BAD_CHECKPOINT', `${source}: "classNames" must list the model's ${classes} class names as strings.`);
  }
  if (!Array.isArray(frequencies) || frequencies.length !== classes || frequencies.some((f) => typeof f !== 'number' || !Number.isFinite(f) || f < 0)) {
    throw new CheckpointError('BAD_CHECKPOINT', `${source}: "classFrequencies" must hold ${classes} numbers of at least 0, one per class.`);
  }
  return { names: [...names], frequencies: [...frequencies] };
}

/** Every parameter and buffer as a plain array, named as in weights.safetensors. */
export function exportWeights(model: FlowModel): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  for (const [name, v] of [...model.params.variables, ...model.params.buffers]) {
    const data = v.dataSync();
    out[name] =
      v.dtype === 'int32'
        ? { dtype: 'int32', shape: [...v.shape], data: Int32Array.from(data) }
        : { dtype: 'float32', shape: [...v.shape], data: Float32Array.from(data) };
  }
  return out;
}

/** Checks a parsed model.json and returns it typed; `source` names the file in errors. */
export function parseModelJson(value: unknown, source: string): ModelJson {
  const v = value as Partial<ModelJson> | null;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new CheckpointError('BAD_CHECKPOINT', `${source}: not a JSON object.`);
  if ((v.format as string | undefined) === LAB_MODEL_FORMAT) {
    throw new CheckpointError('BAD_CHECKPOINT', `${source}: this is a Lab model (a density on points, not images): open it in the Lab view, or train it further with flowdesk lab --open ID.`);
  }
  if (v.format !== MODEL_FORMAT) {
    // The value found is not quoted: an error must never echo a file's contents.
    throw new CheckpointError('BAD_CHECKPOINT', `${source}: "format" must be "${MODEL_FORMAT}"; this is not a FlowDesk model file.`);
  }
  if (!READABLE_VERSIONS.includes(v.version as number)) {
    throw new CheckpointError('BAD_CHECKPOINT', `${source}: unsupported version${typeof v.version === 'number' ? ` ${v.version}` : ''}; this FlowDesk reads versions ${READABLE_VERSIONS.join(' and ')}.`);
  }
  if (typeof v.initialised !== 'boolean') {
    throw new CheckpointError('BAD_CHECKPOINT', `${source}: "initialised" must be true or false.`);
  }
  if (!Number.isInteger(v.nBits) || v.nBits! < 1 || v.nBits! > 8) {
    throw new CheckpointError('BAD_CHECKPOINT', `${source}: "nBits" must be a whole number from 1 to 8, got ${typeof v.nBits === 'number' || v.nBits === undefined ? v.nBits : `a ${typeof v.nBits}`}.`);
  }
  if (v.config === undefined) throw new CheckpointError('BAD_CHECKPOINT', `${source}: "config" is missing; it describes the model (kind, size, levels...).`);
  let config: ResolvedModelConfig;
  try {
    config = resolveStoredModelConfig(v.config); // types and shape only: a bound tightened since never refuses it
  } catch (err) {
    throw new CheckpointError('BAD_CHECKPOINT', `${source}: bad "config": ${(err as Error).message}`);
  }
  const json: ModelJson = { format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, config, initialised: v.initialised, nBits: v.nBits! };
  const classes = classCountOf({ config });
  if (classes === 0) return json;
  const labels = parsedClassLabels(v, classes, source);
  return { ...json, classNames: [...labels.names], classFrequencies: [...labels.frequencies] };
}

/** Overwrites every parameter and buffer of `model`; names and shapes must match exactly. */
export function importWeights(model: FlowModel, weights: Record<string, NamedArray>, source: string): void {
  const targets = new Map([...model.params.variables, ...model.params.buffers]);
  const missing = [...targets.keys()].filter((name) => !(name in weights));
  if (missing.length > 0) {
    throw new CheckpointError('BAD_CHECKPOINT', `${source}: missing ${missing.length} tensors for this model (first: ${missing[0]}).`);
  }
  const extra = Object.keys(weights).filter((name) => !targets.has(name));
  if (extra.length > 0) {
    throw new CheckpointError('BAD_CHECKPOINT', `${source}: ${extra.length} tensors this model does not have (first: ${extra[0]}).`);
  }
  for (const [name, target] of targets) {
    const w = weights[name];
    if (w.shape.length !== target.shape.length || w.shape.some((d, i) => d !== target.shape[i])) {
      throw new CheckpointError('BAD_CHECKPOINT', `${source}: tensor ${name} has shape [${w.shape}], the model needs [${target.shape}].`);
    }
    const wantInt = target.dtype === 'int32';
    if ((w.dtype === 'int32') !== wantInt) {
      throw new CheckpointError('BAD_CHECKPOINT', `${source}: tensor ${name} is ${w.dtype}, the model needs ${target.dtype}.`);
    }
    for (let i = 0; i < w.data.length; i++) {
      if (!Number.isFinite(w.data[i])) {
        throw new CheckpointError('BAD_CHECKPOINT', `${source}: tensor ${name} holds a non-finite value at index ${i}.`);
      }
    }
  }
  tf.tidy(() => {
    for (const [name, target] of targets) {
      const w = weights[name];
      target.assign(tf.tensor(w.data as Float32Array | Int32Array, w.shape, target.dtype));
    }
  });
}

/**
 * Fewest values a model of this config holds: its coupling networks' weights alone (biases,
 * ActNorm, 1x1 convolutions and priors only add), TarFlow's matrices and position embeddings, or a
 * U-Net's residual convolutions. A lower bound, so no real checkpoint is refused by comparing
 * against it; model-json-hostile.test checks it stays within a factor of 2.
 */
export function minParameterCount(c: ResolvedModelConfig): number {
  if (c.kind === 'tarflow') return tarflowMatrixWeights(c);
  if (c.kind === 'flow-matching') return unetBlockWeights(c);
  if (c.kind === 'nice') {
    const half = (c.size * c.size * c.channels) / 2;
    return c.depth * (2 * half * c.hidden + (c.mlpLayers - 1) * c.hidden * c.hidden);
  }
  const perValue = netOutputsPerValue(c);
  // A network from `inChannels` that gives its numbers for `transformed` channels.
  const net = (inChannels: number, transformed: number) => 9 * inChannels * c.hidden + c.hidden * c.hidden + 9 * c.hidden * perValue * transformed;
  let channels = c.channels;
  let total = 0;
  for (let level = 0; level < c.levels; level++) {
    const last = level === c.levels - 1;
    if (c.kind === 'glow') {
      channels *= 4;
      total += c.depth * net(channels / 2, channels / 2);
    } else {
      total += (last ? c.depth + 1 : c.depth) * net(channels, channels);
      if (last) break;
      channels *= 4;
      total += c.depth * net(channels / 2, channels / 2);
    }
    if (!last) channels /= 2;
  }
  return total;
}

/** A model rebuilt from model.json and its weights. */
export function loadModel(json: ModelJson, weights: Record<string, NamedArray>, source: string): FlowModel {
  // Building comes before the name-by-name check, so a config that lies about the model's size
  // (billions of parameters beside a small weights file) must be caught first, or it exhausts memory.
  const needed = minParameterCount(json.config);
  const held = Object.values(weights).reduce((sum, w) => sum + w.data.length, 0);
  if (needed > held) {
    throw new CheckpointError(
      'BAD_CHECKPOINT',
      `${source}: holds ${held.toLocaleString('en')} values, but model.json describes a ${json.config.kind} model of at least ${needed.toLocaleString('en')} parameters; the two files do not belong together.`,
    );
  }
  let model: FlowModel;
  try {
    model = createModel(json.config, 0);
  } catch (err) {
    if (err instanceof FlowDeskError) throw new CheckpointError('BAD_CHECKPOINT', `${source}: ${err.message}`);
    throw err;
  }
  try {
    importWeights(model, weights, source);
  } catch (err) {
    model.dispose();
    throw err;
  }
  model.initialised = json.initialised;
  if (json.classNames && json.classFrequencies) model.classLabels = { names: json.classNames, frequencies: json.classFrequencies };
  return model;
}
