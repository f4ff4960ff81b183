// The two standalone ONNX graphs `flowdesk export --onnx` writes: sampling (noise, temperature and a
// conditional model's classes in, 8-bit pixels out) and encoding (8-bit pixels in, latents and log p(x) out),
// traced like the runtime's graphs but with the weights as initializers, for use outside FlowDesk. A
// model trained for restoration takes its observation y in both.
import * as tf from '../tf.ts';
import { bitsFromLogProb, classCountOf, scoringNoiseOf, type FlowModel } from '../models/flow-model.ts';
import { logClassPrior } from '../models/class-marginal.ts';
import { observationChannels, restoreTaskOf } from '../restore/observation.ts';
import { TraceError } from './graph-builder.ts';
import { weightInputs } from './model-weights.ts';
import { attr, type OnnxAttribute, type OnnxGraph, type OnnxNode, type OnnxTensor } from './onnx-proto.ts';
import { imagesShape, traceModelGraph } from './traced-session.ts';

/** ONNX's TensorProto code for float32 and uint8 (Cast's `to`). */
const FLOAT = 1;
const UINT8 = 2;

/** The graph's inputs that are the model's weights, moved inside it as initializers holding their current values. */
function withWeightsInside(graph: OnnxGraph, model: FlowModel): OnnxGraph {
  const weights = weightInputs(model);
  const inside: OnnxTensor[] = graph.inputs
    .filter((i) => Object.hasOwn(weights, i.name))
    .map((i) => ({ name: i.name, dtype: 'float32', dims: [...weights[i.name].shape], data: Float32Array.from(weights[i.name].dataSync()) }));
  return { ...graph, inputs: graph.inputs.filter((i) => !Object.hasOwn(weights, i.name)), initializers: [...graph.initializers, ...inside] };
}

/** Nodes and scalar constants written by hand around a traced graph, under names of their own. */
class AddedNodes {
  readonly nodes: OnnxNode[] = [];
  readonly constants: OnnxTensor[] = [];
  private count = 0;

  constructor(private readonly prefix: string) {}

  scalar(value: number): string {
    const name = `${this.prefix}.const_${this.count++}`;
    this.constants.push({ name, dtype: 'float32', dims: [], data: Float32Array.of(value) });
    return name;
  }

  /** A one-output node; its output is `output`, or a fresh name. */
  op(op: string, inputs: string[], output?: string, attributes: OnnxAttribute[] = []): string {
    const name = output ?? `${this.prefix}.${op.toLowerCase()}_${this.count++}`;
    this.nodes.push({ op, inputs, outputs: [name], attributes });
    return name;
  }
}

/** A restoration model's observation input `y` [n, H, W, C'] (restore/observation.ts); null for other models. */
function observationPlaceholder(model: FlowModel, n: number): tf.Tensor4D | null {
  const task = restoreTaskOf(model);
  if (task === 'none') return null;
  const { size, channels } = model.config;
  return tf.zeros([n, size, size, observationChannels(task, channels)]);
}

/**
 * The sampling graph for `n` images: inputs `noise.<i>` [n, ...noiseShapes[i]] (standard normal),
 * `temperature` [1], for a conditional model `classes` [n, K] (one-hot rows; all zero: no class)
 * and for a restoration model `y` (samples of p(x | y)); output `images` [n, H, W, C] uint8, binned
 * as data/dequantize.ts' toPixels does.
 */
export function exportedSamplingGraph(model: FlowModel, n: number, nBits: number): OnnxGraph {
  refuseUntraceable(model);
  const noise = model.noiseShapes.map(([h, w, c]) => tf.zeros([n, h, w, c]) as tf.Tensor4D);
  const temperature = tf.ones([1]);
  const classes = classCountOf(model) > 0 ? (tf.zeros([n, classCountOf(model)]) as tf.Tensor2D) : undefined;
  const y = observationPlaceholder(model, n);
  const placeholders: Record<string, tf.Tensor> = { ...Object.fromEntries(noise.map((t, i) => [`noise.${i}`, t])), temperature };
  if (classes) placeholders.classes = classes;
  if (y) placeholders.y = y;
  const traced = traceModelGraph('flowdesk-sample', model, placeholders, () =>
    tf.tidy(() => {
      const scaled = noise.map((t) => tf.mul(t, temperature) as tf.Tensor4D);
      return { x: y ? model.sampleGiven!(scaled, n, y) : model.sampleFromNoise(scaled, n, classes) };
    }),
  );
  return pixelsOut(withWeightsInside(traced, model), nBits);
}

/** `x` (model space) as 8-bit pixels `images`: the n-bit bin of x + 1/2, clamped, at its middle 8-bit value (NaN: bin 0). */
function pixelsOut(graph: OnnxGraph, nBits: number): OnnxGraph {
  const e = new AddedNodes('pixels-out');
  const bins = 2 ** nBits;
  const drop = 2 ** (8 - nBits);
  const floor = e.op('Floor', [e.op('Mul', [e.op('Add', ['x', e.scalar(0.5)]), e.scalar(bins)])]);
  const bin = e.op('Clip', [floor, e.scalar(0), e.scalar(bins - 1)]);
  const known = e.op('Where', [e.op('IsNaN', [bin]), e.scalar(0), bin]);
  const middle = e.op('Add', [e.op('Mul', [known, e.scalar(drop)]), e.scalar(drop >> 1)]);
  e.op('Cast', [middle], 'images', [attr.int('to', UINT8)]);
  const x = graph.outputs.find((o) => o.name === 'x')!;
  return {
    ...graph,
    nodes: [...graph.nodes, ...e.nodes],
    initializers: [...graph.initializers, ...e.constants],
    outputs: [{ name: 'images', dtype: 'uint8', dims: x.dims }],
  };
}

/**
 * The encoding graph for `n` images: input `pixels` [n, H, W, C] uint8, taken at the centres of
 * their n-bit bins as the explorer takes dropped images (explore/explorer.ts' `centred`), for
 * a model whose log p(x) is an estimate its per-image `probes`, and for a restoration model `y`
 * (in place of the degradation values its scoring draws); outputs every level's latent
 * `z.<level>`, `logp` (log p(x) in nats per image; a conditional model's summed over its classes
 * with their training frequencies; a restoration model's log p(x | y)) and `bpd` (bits per dim
 * per image, of n-bit data).
 */
export function exportedEncodingGraph(model: FlowModel, n: number, nBits: number): OnnxGraph {
  refuseUntraceable(model);
  const x = tf.zeros(imagesShape(model, n)) as tf.Tensor4D;
  const y = observationPlaceholder(model, n);
  const probes = y ? [] : scoringNoiseOf(model).map((s) => tf.zeros([n, s.values]) as tf.Tensor2D);
  const placeholders: Record<string, tf.Tensor> = { x, ...Object.fromEntries(probes.map((t, i) => [probeName(i), t])) };
  if (y) placeholders.y = y;
  const traced = traceModelGraph('flowdesk-encode', model, placeholders, () =>
    tf.tidy(() => {
      const { zs, logdet, logpz } = y ? model.forwardGiven!(x, y) : model.forward(x, undefined, probes.length > 0 ? probes : undefined);
      const logp = classCountOf(model) > 0 ? marginalLogProb(model, x) : (tf.add(logdet, logpz) as tf.Tensor1D);
      const out: Record<string, tf.Tensor> = { logp, bpd: bitsFromLogProb(logp, x, nBits) };
      zs.forEach((z, i) => (out[`z.${i}`] = z));
      return out;
    }),
  );
  return pixelsIn(withWeightsInside(traced, model), nBits);
}

/** The name of the i-th scoring noise input (flow matching's Hutchinson probes). */
function probeName(i: number): string {
  return i === 0 ? 'probes' : `probes.${i}`;
}

/** log p(x) = log sum_y exp(log p(x|y) + log p(y)), class-marginal.ts' sum, traced. */
function marginalLogProb(model: FlowModel, x: tf.Tensor4D): tf.Tensor1D {
  if (!model.classLogProbs) throw new TraceError(`a conditional ${model.config.kind} model has no per-class log p(x | y) to sum`);
  return tf.logSumExp(tf.add(model.classLogProbs(x), tf.tensor1d(logClassPrior(model))), 1) as tf.Tensor1D;
}

/** The graph's float input `x` computed from a uint8 input `pixels`: (floor(p / 2^(8-n)) + 1/2) / 2^n - 1/2. */
function pixelsIn(graph: OnnxGraph, nBits: number): OnnxGraph {
  const e = new AddedNodes('pixels-in');
  const bins = 2 ** nBits;
  const p = e.op('Cast', ['pixels'], undefined, [attr.int('to', FLOAT)]);
  const bin = e.op('Floor', [e.op('Div', [p, e.scalar(2 ** (8 - nBits))])]);
  e.op('Sub', [e.op('Div', [e.op('Add', [bin, e.scalar(0.5)]), e.scalar(bins)]), e.scalar(0.5)], 'x');
  return {
    ...graph,
    nodes: [...e.nodes, ...graph.nodes],
    initializers: [...graph.initializers, ...e.constants],
    inputs: graph.inputs.map((i) => (i.name === 'x' ? { name: 'pixels', dtype: 'uint8', dims: i.dims } : i)),
  };
}

/** A model whose inference reads values back (an adaptive or long ODE solve) cannot be one graph. */
function refuseUntraceable(model: FlowModel): void {
  if (model.inferenceTraces !== false) return;
  const c = model.config as { solver?: string; odeSteps?: number; probes?: number };
  throw new TraceError(
    `this ${model.config.kind} model's ODE solve does not trace into one graph (solver "${c.solver}", odeSteps ${c.odeSteps}, probes ${c.probes}): ` +
      'ONNX export needs the "solver" setting at a fixed-step solver (euler, heun or rk4) with its evaluations per step times odeSteps times probes at most 16 (rk4 with 4 steps and 1 probe, the defaults)',
  );
}
