// A whole training step on onnxruntime: loss, gradients, the global norm, clipping and the Adam or
// Adamax update, traced once into one graph from the same tfjs code the tfjs path runs
// (train/optimizer.ts's updatedParam), so the optimizer's maths has one definition. The update
// runs on every weight at once, as one flat vector, and the moments stay onnxruntime tensors
// between steps (written into two buffers in turn, since a run cannot write what it reads), as do
// the weights a step wrote, fed to the next step: they are lent to the model's ParamStore and
// assigned to the variables only when something reads those (an evaluation, a checkpoint), not
// after every step, which cost about 3% of a Glow K8 h256 step on the wasm backend (docs/performance.md).
// A step whose loss or gradient norm is not finite is not kept: weights and moments stay as they were.
import * as tf from '../tf.ts';
import type { WeightHolder } from '../flows/params.ts';
import { trainingLoss, type FlowModel } from '../models/flow-model.ts';
import { squaredNorm, updatedParam, type MomentHolder, type Optimizer, type StepOutcome } from '../train/optimizer.ts';
import { flatValues } from '../train/weight-average.ts';
import type { OrtTensor } from './model-weights.ts';
import type { OnnxGraph } from './onnx-proto.ts';
import { createSession, type Ort, type OrtSession } from './runtime.ts';
import { imagesShape, stepInputFeeds, stepInputPlaceholders, traceModelGraph, TracedSession } from './traced-session.ts';

/** Every weight's values, in the model's parameter order, as one vector. */
function flatten(tensors: tf.Tensor[]): tf.Tensor1D {
  return tf.concat(tensors.map((t) => tf.reshape(t, [-1])));
}

/** Total number of weights of `model`. */
function weightCount(model: FlowModel): number {
  return [...model.params.variables.values()].reduce((sum, p) => sum + p.size, 0);
}

/**
 * The graph from a batch `x`, its step inputs (`noise/i` and `classes`, none for an unconditional flow), the weights, their
 * moments `m` and `v` (flat, in parameter order) and the update's `stepSize` to `loss` (the mean
 * training loss), `gradNorm` and the flat `next/weights`, `next/m`, `next/v`.
 */
export function updateGraph(model: FlowModel, batch: number, nBits: number, optimizer: Optimizer): OnnxGraph {
  const total = weightCount(model);
  const inputs = stepInputPlaceholders(model, batch);
  const placeholders = { x: tf.zeros(imagesShape(model, batch)), stepSize: tf.scalar(0), m: tf.zeros([total]), v: tf.zeros([total]), ...inputs.byName };
  const vars = [...model.params.variables.values()];
  return traceModelGraph('flowdesk-train-update', model, placeholders, () => {
    const x = placeholders.x as tf.Tensor4D;
    const { value, grads } = tf.variableGrads(() => tf.mean(trainingLoss(model, x, inputs.tensors, nBits)) as tf.Scalar, vars);
    const g = flatten(vars.map((p) => grads[p.name]));
    const gradNorm = tf.sqrt(squaredNorm([g]));
    // Optimizer.apply's clip, gradNorm > clipNorm ? clipNorm / gradNorm : 1, as one op.
    const clip = tf.minimum(1, tf.div(optimizer.config.clipNorm, gradNorm));
    const next = updatedParam(optimizer.config, { p: flatten(vars), g: tf.mul(g, clip), m: placeholders.m, v: placeholders.v }, placeholders.stepSize as tf.Scalar);
    return { loss: value, gradNorm, 'next/weights': next.p, 'next/m': next.m, 'next/v': next.v };
  });
}

interface Moments {
  m: OrtTensor;
  v: OrtTensor;
}

/** The flat weights the last kept step wrote, and the data ids of the variables while nothing else changed them. */
interface Written {
  weights: OrtTensor;
  ids: object[];
}

export class OnnxUpdate extends TracedSession implements MomentHolder, WeightHolder {
  /** The moments while this step holds them (Optimizer.lend), and the buffers the next run writes. */
  private moments: Moments | null = null;
  /** The optimizer's moment tensors, which the held moments are written back into. */
  private lent: Map<string, { m: tf.Variable; v: tf.Variable }> | null = null;
  private spare: Moments;
  /** The buffer the next run writes the weights into. */
  private nextWeights: OrtTensor;
  private written: Written | null = null;
  /** The model's variables and their names, in parameter order (held here: reading them through the store would take the weights back). */
  private readonly vars: tf.Variable[];
  private readonly names: string[];

  private constructor(
    ort: Ort,
    session: OrtSession,
    model: FlowModel,
    private readonly optimizer: Optimizer,
    /** Images per step, fixed by the trace. */
    readonly batch: number,
  ) {
    super(ort, session, model);
    this.names = [...model.params.variables.keys()];
    this.vars = [...model.params.variables.values()];
    this.spare = { m: this.flatVector(), v: this.flatVector() };
    this.nextWeights = this.flatVector();
  }

  /** A zeroed onnxruntime vector with one entry per weight. */
  private flatVector(): OrtTensor {
    const count = weightCount(this.model);
    return new this.ort.Tensor('float32', new Float32Array(count), [count]);
  }

  /** Traces `model`'s step with `optimizer`'s settings at this batch size; `threads` defaults to every core. */
  static async create(ort: Ort, model: FlowModel, batch: number, nBits: number, optimizer: Optimizer, threads?: number): Promise<OnnxUpdate> {
    const session = await createSession(ort, updateGraph(model, batch, nBits, optimizer), threads);
    return new OnnxUpdate(ort, session, model, optimizer, batch);
  }

  /** One step on the `batch` images in `data` and their step inputs (training noise, classes): the weights and the optimizer's moments change unless it is not finite. */
  async update(data: Float32Array, inputs: readonly Float32Array[] = []): Promise<StepOutcome> {
    const lent = this.optimizer.lend(this);
    if (lent) {
      const flat = (moment: 'm' | 'v') => this.concatenated([...lent.values()].map((pair) => pair[moment]));
      this.moments = { m: flat('m'), v: flat('v') };
      this.lent = lent;
    }
    const moments = this.moments!;
    const shape = imagesShape(this.model, this.batch);
    const { lr, stepSize } = this.optimizer.nextStep();
    const results = await this.execute(
      { ...this.writtenWeights(), x: [data.subarray(0, tf.util.sizeFromShape(shape)), shape], stepSize: [Float32Array.of(stepSize), []], m: moments.m, v: moments.v, ...stepInputFeeds(this.model, this.batch, inputs) },
      { 'next/weights': this.nextWeights, 'next/m': this.spare.m, 'next/v': this.spare.v },
    );
    const loss = (results.loss.data as Float32Array)[0];
    const gradNorm = (results.gradNorm.data as Float32Array)[0];
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) return { loss, gradNorm, lr, applied: false };
    // onnxruntime wrote the new values into the fetched tensors themselves.
    [this.moments, this.spare] = [this.spare, moments];
    const weights = this.nextWeights;
    this.nextWeights = this.written?.weights ?? this.flatVector();
    this.written = { weights, ids: this.vars.map((v) => v.dataId) };
    this.model.params.lendWeights(this);
    this.optimizer.committed();
    return { loss, gradNorm, lr, applied: true, weights: weights.data as Float32Array };
  }

  /**
   * The weights as views of the last kept step's output while no variable was assigned since that
   * step or since they were returned (an assign gives a variable a new data id: a rollback, a
   * loaded checkpoint, the averaged weights swapped in), so they are not read back from tfjs;
   * otherwise none.
   */
  private writtenWeights(): Record<string, OrtTensor> {
    const { written, vars, names } = this;
    if (!written || vars.some((v, i) => v.dataId !== written.ids[i])) return {};
    const flat = written.weights.data as Float32Array;
    const views: Record<string, OrtTensor> = {};
    let offset = 0;
    vars.forEach((v, i) => {
      views[names[i]] = new this.ort.Tensor('float32', flat.subarray(offset, offset + v.size), v.shape);
      offset += v.size;
    });
    return views;
  }

  /**
   * Assigns the last kept step's weights to the variables (ParamStore.reclaimWeights), except to a
   * variable assigned since through a reference of its own, whose newer value stays (the next
   * step then reads every weight from tfjs). As copies: tfjs's cpu backend would keep a view of
   * the output buffer, which the step after next rewrites.
   */
  returnWeights(): void {
    const { written, vars } = this;
    if (!written) return;
    const untouched = this.scatter((written.weights.data as Float32Array).slice(), vars, (v, i) => v.dataId === written.ids[i]);
    if (untouched) written.ids = vars.map((v) => v.dataId);
    else this.written = null;
  }

  /** Writes the moments this step holds into the optimizer's tensors (Optimizer.reclaimMoments). */
  returnMoments(): void {
    const { moments, lent } = this;
    this.moments = this.lent = null;
    if (!moments || !lent) return;
    for (const moment of ['m', 'v'] as const) this.scatter(moments[moment].data as Float32Array, [...lent.values()].map((pair) => pair[moment]));
  }

  /** `tensors` as one flat onnxruntime tensor, in order. */
  private concatenated(tensors: tf.Tensor[]): OrtTensor {
    const out = flatValues(tensors);
    return new this.ort.Tensor('float32', out, [out.length]);
  }

  /** Assigns consecutive parts of `flat` to `targets`, in order, to those `assignable` accepts; whether it accepted all. */
  private scatter(flat: Float32Array, targets: tf.Variable[], assignable: (t: tf.Variable, i: number) => boolean = () => true): boolean {
    let all = true;
    tf.tidy(() => {
      let offset = 0;
      targets.forEach((t, i) => {
        if (assignable(t, i)) t.assign(tf.tensor(flat.subarray(offset, offset + t.size), t.shape));
        else all = false;
        offset += t.size;
      });
    });
    return all;
  }

  override async dispose(): Promise<void> {
    if (this.moments) this.optimizer.reclaimMoments();
    this.model.params.reclaimWeights();
    await super.dispose();
  }
}
