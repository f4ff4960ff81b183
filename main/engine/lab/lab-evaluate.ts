// A trained Lab model's scores and speeds: test NLL on 10,000 fresh target samples (or the held-out
// rows of a table), the KL divergence to the truth with its standard error where the density is
// known (forward for samples, reverse with the ESS for energies), and the measured time to draw and
// to score 10,000 points — MAF against IAF is the lesson in those two numbers.
import * as tf from '../tf.ts';
import { Rng } from '../random.ts';
import { forwardKl, KL_SAMPLES, meanWithSe, reverseKl } from './kl.ts';
import type { LabModel } from './lab-model.ts';
import type { LabResult } from './lab-store.ts';
import type { Target } from './targets/index.ts';

/** Points per forward pass: bounds the memory of ODE families' augmented states. */
const CHUNK = 2000;

/** log q of row-major points in chunks, exact (evaluation mode). */
export function modelLogDensity(model: LabModel, points: Float32Array, ctx = { mode: 'eval' as const, rng: new Rng(0) }): Float64Array {
  const n = points.length / model.dim;
  const out = new Float64Array(n);
  for (let start = 0; start < n; start += CHUNK) {
    const rows = Math.min(CHUNK, n - start);
    const values = tf.tidy(() => model.logProb(tf.tensor2d(points.subarray(start * model.dim, (start + rows) * model.dim), [rows, model.dim]), ctx)).dataSync();
    out.set(values, start);
  }
  return out;
}

/** `n` draws of the model with their log q, in chunks. */
export function modelDraws(model: LabModel, n: number, rng: Rng): { points: Float32Array; logQ: Float64Array } {
  const points = new Float32Array(n * model.dim);
  const logQ = new Float64Array(n);
  const ctx = { mode: 'eval' as const, rng };
  for (let start = 0; start < n; start += CHUNK) {
    const rows = Math.min(CHUNK, n - start);
    const [x, lq] = tf.tidy(() => {
      const s = model.sample(rows, ctx);
      return [s.x.dataSync(), s.logProb.dataSync()];
    });
    points.set(x, start * model.dim);
    logQ.set(lq, start);
  }
  return { points, logQ };
}

function timed<T>(fn: () => T): [T, number] {
  const started = performance.now();
  const value = fn();
  return [value, performance.now() - started];
}

/** Milliseconds to draw `n` points with their log q, timed as the evaluation times it. */
export function samplingMs(model: LabModel, n: number, rng: Rng): number {
  return timed(() => modelDraws(model, n, rng))[1];
}

export async function evaluateLabModel(model: LabModel, target: Target, run: { seconds: number; steps: number; seed: number }): Promise<LabResult> {
  // Its own stream, so an evaluation never changes what training draws.
  const rng = new Rng(run.seed + 0x5eed);
  const [draws, sampleMs] = timed(() => modelDraws(model, KL_SAMPLES, rng));
  let densityMs = 0;
  const scored = (points: Float32Array): Float64Array => {
    const [values, ms] = timed(() => modelLogDensity(model, points));
    densityMs ||= (ms * KL_SAMPLES * model.dim) / points.length;
    return values;
  };
  let testNll: number | null = null;
  let kl: { value: number; se: number } | null = null;
  let ess: number | null = null;
  if (target.kind === 'energy') {
    const reverse = reverseKl(target, draws);
    kl = reverse;
    ess = reverse.ess;
    scored(draws.points);
  } else if (target.heldOut) {
    testNll = -meanWithSe(scored(target.heldOut)).value;
  } else if (target.logDensity && target.sample) {
    let logQ: Float64Array | null = null;
    kl = forwardKl(target, (points) => (logQ = scored(points)), rng);
    testNll = -meanWithSe(logQ!).value;
  } else if (target.sample) {
    testNll = -meanWithSe(scored(target.sample(KL_SAMPLES, rng))).value;
  }
  return {
    testNll,
    klToTruth: kl?.value ?? null,
    klSe: kl && Number.isFinite(kl.se) ? kl.se : null,
    ess,
    seconds: run.seconds,
    msPerStep: run.steps > 0 ? (run.seconds * 1000) / run.steps : 0,
    sampleMs,
    densityMs,
  };
}
