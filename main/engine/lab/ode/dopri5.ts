// Adaptive Dormand-Prince 5(4): fifth-order steps whose size an embedded fourth-order error
// estimate keeps within rtol/atol (Hairer, Nørsett & Wanner, II.4 and II.5). Step sizes are read
// back to JS, one small read per step; gradients flow by backpropagating through the accepted steps.
import * as tf from '../../tf.ts';
import { ConfigError, TrainError } from '../../errors.ts';
import { addScaled, disposeState, rkStages, type OdeFunction, type OdeState } from './explicit-rk.ts';

/** Stages 0..5; stage 6 is f at the step's result, reused as the next step's stage 0 (first same as last). */
const DOPRI5 = {
  c: [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1],
  a: [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  ],
  /** Fifth-order weights (the seventh is zero). */
  b: [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
};
/** Fifth- minus fourth-order weights over all seven stages: the local error estimate. */
const ERROR_WEIGHTS = [
  35 / 384 - 5179 / 57600, 0, 500 / 1113 - 7571 / 16695, 125 / 192 - 393 / 640,
  -2187 / 6784 + 92097 / 339200, 11 / 84 - 187 / 2100, -1 / 40,
];
/** The error estimate is of the fourth-order solution, so the local error scales as h^5. */
const ERROR_EXPONENT = 1 / 5;

export interface AdaptiveOptions {
  readonly rtol: number;
  readonly atol: number;
  /** Steps tried (accepted or rejected) before giving up with an error. Defaults to 1000. */
  readonly maxSteps?: number;
  /** First step size; absent: Hairer's heuristic (one extra evaluation of f). */
  readonly firstStep?: number;
  /** Fraction of the step size the error estimate allows that is taken. Defaults to 0.9. */
  readonly safety?: number;
}

export interface AdaptiveResult {
  /** The state at t1 (new tensors; y0 is left to its owner). */
  readonly y: tf.Tensor[];
  /** Evaluations of f. */
  readonly nfe: number;
  readonly accepted: number;
  readonly rejected: number;
}

/** Step-size factor bounds: never grow more than 10x or shrink more than 5x in one go. */
const MAX_FACTOR = 10;
const MIN_FACTOR = 0.2;

export function integrateDopri5(f: OdeFunction, y0: OdeState, t0: number, t1: number, opts: AdaptiveOptions): AdaptiveResult {
  const { rtol, atol, maxSteps = 1000, safety = 0.9 } = opts;
  if (!(rtol > 0) || !(atol > 0)) throw new RangeError(`dopri5 needs positive rtol and atol; got ${rtol}, ${atol}`);
  let y: tf.Tensor[] = y0.map((t) => tf.clone(t));
  if (t0 === t1) return { y, nfe: 0, accepted: 0, rejected: 0 };
  const direction = Math.sign(t1 - t0);
  let k0: tf.Tensor[] = f(t0, y);
  let nfe = 1;
  let h = opts.firstStep ?? initialStep(f, t0, y, k0, direction, rtol, atol);
  if (opts.firstStep === undefined) nfe += 1;
  h = direction * Math.min(Math.abs(h), Math.abs(t1 - t0));
  let t = t0;
  let accepted = 0;
  let rejected = 0;
  let lastRejected = false;
  while (direction * (t1 - t) > 0) {
    if (accepted + rejected >= maxSteps) {
      disposeState(y);
      disposeState(k0);
      throw new ConfigError('BAD_CONFIG', `the adaptive ODE solver took ${maxSteps} steps between t = ${t0} and ${t1} and stopped at t = ${t.toPrecision(4)}: loosen its tolerance (rtol ${rtol}, atol ${atol}) or use a fixed-step solver`);
    }
    if (Math.abs(h) <= 1e-10 * Math.max(1, Math.abs(t))) {
      disposeState(y);
      disposeState(k0);
      throw new TrainError('NON_FINITE', `the adaptive ODE solver's step shrank to ${h.toExponential(2)} at t = ${t}: the dynamics are too stiff or blow up there`);
    }
    // Land exactly on t1 rather than overshoot it.
    const step = direction * (t + h - t1) > 0 ? t1 - t : h;
    const { yNew, kLast, errNorm } = tryStep(f, t, y, step, k0, rtol, atol);
    nfe += 6;
    if (Number.isNaN(errNorm)) {
      disposeState(y);
      disposeState(k0);
      disposeState(yNew);
      disposeState(kLast);
      throw new TrainError('NON_FINITE', `the ODE's state became non-finite at t = ${t} (step ${step.toExponential(2)})`);
    }
    const proposed = errNorm === 0 ? MAX_FACTOR : safety * errNorm ** -ERROR_EXPONENT;
    if (errNorm <= 1) {
      t = step === t1 - t ? t1 : t + step;
      disposeState(y);
      disposeState(k0);
      y = yNew;
      k0 = kLast;
      accepted++;
      // After a rejection, do not grow straight back (Hairer's advice).
      h = step * Math.min(lastRejected ? 1 : MAX_FACTOR, Math.max(MIN_FACTOR, proposed));
      lastRejected = false;
    } else {
      disposeState(yNew);
      disposeState(kLast);
      rejected++;
      h = step * Math.max(MIN_FACTOR, Math.min(1, proposed));
      lastRejected = true;
    }
  }
  disposeState(k0);
  return { y, nfe, accepted, rejected };
}

/** One fifth-order step with its embedded error estimate, as an RMS norm scaled by the tolerances. */
function tryStep(f: OdeFunction, t: number, y: OdeState, h: number, k0: OdeState, rtol: number, atol: number): { yNew: tf.Tensor[]; kLast: tf.Tensor[]; errNorm: number } {
  const { yNew, kLast, norm } = tf.tidy(() => {
    const ks = rkStages(f, t, y, h, DOPRI5, k0);
    const yNew = addScaled(y, h, DOPRI5.b, ks);
    const kLast = f(t + h, yNew);
    const err = addScaled(y.map((yi) => tf.zerosLike(yi)), h, ERROR_WEIGHTS, [...ks, kLast]);
    const norm = scaledNorm(err, y, yNew, rtol, atol);
    return { yNew, kLast, norm };
  });
  const errNorm = norm.dataSync()[0];
  norm.dispose();
  return { yNew, kLast, errNorm };
}

/**
 * The largest, over the state's tensors, of the RMS of e / (atol + rtol max(|y|, |ŷ|)), so a small
 * tensor (an accumulated log-density) is held to the tolerance as strictly as a large one.
 */
function scaledNorm(e: OdeState, y: OdeState, yHat: OdeState, rtol: number, atol: number): tf.Scalar {
  return tf.tidy(() => {
    const norms = e.map((ei, i) => {
      const scale = tf.add(atol, tf.mul(rtol, tf.maximum(tf.abs(y[i]), tf.abs(yHat[i]))));
      return tf.sqrt(tf.mean(tf.square(tf.div(ei, scale))));
    });
    return tf.max(tf.stack(norms)) as tf.Scalar;
  });
}

/** Hairer, Nørsett & Wanner's starting step (II.4): one Euler probe of f's scale and its change. */
function initialStep(f: OdeFunction, t0: number, y0: OdeState, f0: OdeState, direction: number, rtol: number, atol: number): number {
  const norms = tf.tidy(() => {
    const d0 = scaledNorm(y0, y0, y0, rtol, atol);
    const d1 = scaledNorm(f0, y0, y0, rtol, atol);
    return tf.stack([d0, d1]);
  });
  const [d0, d1] = norms.dataSync();
  norms.dispose();
  const h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * (d0 / d1);
  const d2Tensor = tf.tidy(() => {
    const y1 = addScaled(y0, direction * h0, [1], [f0]);
    const f1 = f(t0 + direction * h0, y1);
    const change = f1.map((fi, i) => tf.div(tf.sub(fi, f0[i]), h0));
    return scaledNorm(change, y0, y0, rtol, atol);
  });
  const d2 = d2Tensor.dataSync()[0];
  d2Tensor.dispose();
  const h1 = Math.max(d1, d2) <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / Math.max(d1, d2)) ** ERROR_EXPONENT;
  return direction * Math.min(100 * h0, h1);
}
