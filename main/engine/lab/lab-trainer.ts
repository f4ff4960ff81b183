// Trains one Lab model: maximum likelihood on fresh target samples each step, or reverse KL
// against an energy (which is also how an IAF student distils a MAF teacher). Adam on tfjs, the
// family's constraints restored after each step, a step with a non-finite loss skipped rather than
// applied, and time handed back to the thread between steps so a stop request lands at once.
import * as tf from '../tf.ts';
import { TrainError } from '../errors.ts';
import { Rng, type RngState } from '../random.ts';
import type { LabObjective, LrSchedule } from '../../../common/lab/lab-catalog.ts';
import type { LabModel } from './lab-model.ts';

/** What the trainer fits: data drawn afresh each step, or an unnormalised density exp(-U). */
export type LabFitTarget =
  | { readonly kind: 'samples'; draw(n: number, rng: Rng): Float32Array }
  | { readonly kind: 'energy'; energy(x: tf.Tensor2D): tf.Tensor1D };

export interface LabStepReport {
  step: number;
  /** The objective on this step's batch: -mean log q (nats) for likelihood, the KL estimate up to log Z for reverse KL. */
  loss: number;
  /** Seconds since training (this call) began. */
  elapsed: number;
}

export interface LabTrainOptions {
  readonly model: LabModel;
  readonly target: LabFitTarget;
  readonly objective: LabObjective;
  /** Step to stop at (a model trained further counts on from `startStep`). */
  readonly steps: number;
  readonly minutes: number | null;
  readonly batch: number;
  /** The peak learning rate; `schedule` says how it moves (constant when absent). */
  readonly lr: number;
  readonly schedule?: LrSchedule;
  readonly startStep?: number;
  /** Random state to continue from (batches, probes); else a fresh Rng of `seed`. */
  readonly rng: Rng;
  readonly signal?: AbortSignal;
  /** Awaited, so a caller may save the model now and then between steps. */
  readonly onStep?: (r: LabStepReport) => void | Promise<void>;
  /**
   * Awaited after onStep; the time it takes counts neither in `elapsed` nor against the time
   * limit, so an evaluation during training does not eat the training budget it is measuring.
   */
  readonly offClock?: (r: LabStepReport) => void | Promise<void>;
  /**
   * Called between steps for heatmaps and samples (and after the last), so that frames start at
   * most `frameEveryMs` apart where a step is shorter than that, but never taking more than half the time.
   */
  readonly onFrame?: (step: number) => void;
  readonly frameEveryMs?: number;
}

export interface LabTrainResult {
  step: number;
  seconds: number;
  /** Why it stopped: the step count, the time limit, or a stop request. */
  ended: 'steps' | 'minutes' | 'stopped';
  skippedSteps: number;
  rng: RngState;
}

/** Consecutive non-finite steps after which training stops with advice instead of spinning. */
const MAX_BAD_STEPS = 20;

export async function trainLabModel(o: LabTrainOptions): Promise<LabTrainResult> {
  if (o.objective === 'likelihood' && o.target.kind !== 'samples') throw new TrainError('BAD_CONFIG', 'maximum likelihood needs samples; an energy trains by reverse KL (objective reverse-kl)');
  if (o.objective === 'reverse-kl' && o.target.kind !== 'energy') throw new TrainError('BAD_CONFIG', 'reverse KL needs an energy to fit; a sample target trains by maximum likelihood (objective likelihood)');
  const { model } = o;
  const vars = [...model.params.variables.values()];
  const optimizer = new ScheduledAdam(o.lr);
  const started = performance.now();
  const firstStep = o.startStep ?? 0;
  /** Milliseconds spent in offClock, taken off the training clock. */
  let paused = 0;
  const trainingMs = () => performance.now() - started - paused;
  const budgetMs = o.minutes === null ? Infinity : o.minutes * 60_000;
  const frameEvery = o.frameEveryMs ?? 250;
  let lastFrame = -Infinity;
  /** The last frame's own duration, and the last step's: a frame comes early rather than a step late. */
  let frameMs = 0;
  let stepMs = 0;
  let step = firstStep;
  let skipped = 0;
  let badInARow = 0;
  let ended: LabTrainResult['ended'] = 'steps';
  if (step === 0) initialiseFromData(o);
  try {
    while (step < o.steps) {
      if (o.signal?.aborted) { ended = 'stopped'; break; }
      if (trainingMs() >= budgetMs) { ended = 'minutes'; break; }
      if (o.schedule === 'cosine') {
        // How far through this run: by steps or by the clock, whichever is further along.
        const done = Math.max((step - firstStep) / (o.steps - firstStep), trainingMs() / budgetMs);
        optimizer.setRate(cosineRate(o.lr, done));
      }
      const stepStarted = performance.now();
      const ctx = { mode: 'train' as const, rng: o.rng };
      const { value, grads } = tf.variableGrads(() => objectiveLoss(o, ctx), vars);
      const loss = (await value.data())[0];
      value.dispose();
      if (Number.isFinite(loss)) {
        optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
        model.constrain();
        badInARow = 0;
      } else {
        skipped++;
        if (++badInARow >= MAX_BAD_STEPS) throw new TrainError('NON_FINITE', `training diverged: the loss was not finite for ${MAX_BAD_STEPS} steps in a row at step ${step + 1}; lower the learning rate or the number of layers`);
      }
      tf.dispose(grads);
      stepMs = performance.now() - stepStarted;
      step++;
      const report = { step, loss, elapsed: trainingMs() / 1000 };
      await o.onStep?.(report);
      if (o.offClock) {
        const before = performance.now();
        await o.offClock(report);
        paused += performance.now() - before;
      }
      const sinceFrame = performance.now() - lastFrame;
      // Draw now if waiting for the next step would overrun the interval; but frames take at most
      // half the time, so one that costs more (an ODE family's exact densities) spaces the next out.
      if (o.onFrame && sinceFrame + stepMs >= frameEvery && sinceFrame >= 2 * frameMs) {
        lastFrame = performance.now();
        o.onFrame(step);
        frameMs = performance.now() - lastFrame;
      }
      // Lets a stop request, or a message for the thread, land between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (o.onFrame && lastFrame !== -Infinity) o.onFrame(step);
  } finally {
    optimizer.dispose();
  }
  return { step, seconds: trainingMs() / 1000, ended, skippedSteps: skipped, rng: o.rng.state };
}

/** tfjs's Adam (defaults as tf.train.adam's) with its rate settable between steps; it reads the rate at each update. */
class ScheduledAdam extends tf.AdamOptimizer {
  constructor(lr: number) {
    super(lr, 0.9, 0.999);
  }

  setRate(lr: number): void {
    this.learningRate = lr;
  }
}

/** Cosine annealing (Loshchilov & Hutter 2017) from `peak` at the start to zero at the end: the late small steps settle the density rather than shake it. */
export function cosineRate(peak: number, done: number): number {
  return 0.5 * peak * (1 + Math.cos(Math.PI * Math.min(1, done)));
}

/**
 * Data-initialised layers (ActNorm) take their statistics from a first pass over a batch of the
 * data. Reverse KL has no data: they stay at the identity they start as.
 */
function initialiseFromData(o: LabTrainOptions): void {
  const { target, model } = o;
  if (target.kind !== 'samples') return;
  model.params.requestDataInit();
  tf.tidy(() => {
    model.logProb(tf.tensor2d(target.draw(o.batch, o.rng), [o.batch, model.dim]), { mode: 'train', rng: o.rng });
  });
}

function objectiveLoss(o: LabTrainOptions, ctx: { mode: 'train'; rng: Rng }): tf.Scalar {
  const { model, target } = o;
  if (target.kind === 'samples') {
    const x = tf.tensor2d(target.draw(o.batch, ctx.rng), [o.batch, model.dim]);
    return model.dataLoss(x, ctx);
  }
  // Reverse KL up to the unknown log Z: E_q[log q(x) + U(x)] with x = the flow's samples.
  const { x, logProb } = model.sample(o.batch, ctx);
  return tf.mean(tf.add(logProb, target.energy(x))) as tf.Scalar;
}
