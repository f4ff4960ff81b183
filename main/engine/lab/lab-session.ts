// One Lab training session from request to saved result, shared by `flowdesk lab` and the app:
// check the settings, resolve the target, build (or reopen) the model, lock its folder before
// writing, train with frames, save now and then (a crash loses at most a few seconds), evaluate,
// and release the lock whatever happens.
import * as tf from '../tf.ts';
import { ConfigError } from '../errors.ts';
import { Rng } from '../random.ts';
import { checkSettings } from '../../../common/settings/check.ts';
import { LAB_FLOWS, LAB_MODEL_FORMAT, type LabFlowName, type LabObjective, type LabTargetSpec } from '../../../common/lab/lab-catalog.ts';
import { labDefaults, labFields, type LabSettings } from '../../../common/lab/lab-fields.ts';
import { buildLabModel } from './lab-flows.ts';
import { FrameMaker, type LabFrame } from './lab-frame.ts';
import { evaluateLabModel } from './lab-evaluate.ts';
import type { LabModel } from './lab-model.ts';
import {
  createLabFolder, loadLabWeights, lockLabFolder, readLabCurve, readLabModelJson, saveLabCurve, saveLabModel, saveLabResult,
  labModelDir, type LabCurvePoint, type LabModelJson, type LabResult,
} from './lab-store.ts';
import { trainLabModel, type LabFitTarget, type LabStepReport } from './lab-trainer.ts';
import { resolveTarget, type Target } from './targets/index.ts';

/** Seconds between saves while training. */
const SAVE_EVERY_S = 10;

export interface LabSessionHooks {
  signal?: AbortSignal;
  /** The folder exists and is locked; training is about to start. */
  onStart?: (s: { id: string; dir: string; step: number; totalSteps: number; minutes: number | null }) => void;
  onStep?: (r: LabStepReport) => void;
  onFrame?: (f: LabFrame) => void;
  /** Heatmap resolution and points per frame; frames are skipped when onFrame is absent. */
  frame?: { res: number; samples: number };
  /** The app's allowed folders, for a CSV target's file. */
  roots?: readonly string[];
  /**
   * Evaluations during training, once the model's training time (seconds) or step count (both
   * counted over its whole life) reaches each value; step 0 evaluates before the first step.
   * Their time is kept off the training clock. The final evaluation is always made.
   */
  evaluateAt?: { seconds?: readonly number[]; steps?: readonly number[] };
  onEvaluation?: (e: LabEvaluation) => void;
}

/** One evaluation made during training (see LabSessionHooks.evaluateAt). */
export interface LabEvaluation {
  step: number;
  /** Training seconds so far (evaluations excluded). */
  seconds: number;
  result: LabResult;
}

export type LabSessionRequest =
  | { kind: 'new'; runsDir: string; id?: string; flow: LabFlowName; settings: Record<string, unknown>; target: LabTargetSpec }
  | { kind: 'continue'; runsDir: string; id: string; steps?: number; minutes?: number | null };

export interface LabSessionResult {
  id: string;
  dir: string;
  json: LabModelJson;
  result: LabResult;
  ended: 'steps' | 'minutes' | 'stopped';
}

/** The objective a target calls for; a flow that cannot train by it is refused with the families that can. */
export function objectiveFor(flow: LabFlowName, target: LabTargetSpec, given: unknown): LabObjective {
  const objective: LabObjective = target.kind === 'energy' || target.kind === 'expression' || target.kind === 'model' ? 'reverse-kl' : 'likelihood';
  if (given !== undefined && given !== objective) {
    throw new ConfigError('BAD_ARGUMENT', objective === 'likelihood' ? 'objective must be likelihood for a target given by samples (reverse KL needs an energy).' : 'objective must be reverse-kl for an energy or a model to distil (maximum likelihood needs samples).');
  }
  const objectives: readonly LabObjective[] = LAB_FLOWS[flow].objectives;
  if (!objectives.includes(objective)) {
    const able = Object.entries(LAB_FLOWS).filter(([, f]) => (f.objectives as readonly LabObjective[]).includes(objective)).map(([n]) => n);
    throw new ConfigError('BAD_ARGUMENT', `${LAB_FLOWS[flow].label} cannot train by ${objective === 'likelihood' ? 'maximum likelihood' : 'reverse KL'}: ${objective === 'likelihood' ? 'its density needs a numerical inverse' : 'its sampling takes one pass per dimension'}. Families that can: ${able.join(', ')}.`);
  }
  return objective;
}

/** A Lab model's target as the trainer and evaluator use it; a 'model' target is the saved model's density. */
async function targetOf(spec: LabTargetSpec, runsDir: string, rng: Rng, roots: readonly string[] | undefined): Promise<{ target: Target; release: () => void }> {
  if (spec.kind !== 'model') return { target: await resolveTarget(spec, rng, { roots }), release: () => {} };
  const teacher = await openLabModel(runsDir, spec.id);
  const ctx = { mode: 'eval' as const, rng: new Rng(0) };
  const target: Target = {
    kind: 'energy',
    dim: teacher.model.dim,
    label: `${LAB_FLOWS[teacher.json.flow as LabFlowName].label} ${spec.id}`,
    bounds: (await resolveTarget(teacher.json.target, new Rng(0), { roots }).catch(() => null))?.bounds ?? [[-4, 4], [-4, 4]],
    // The teacher is normalised: U = -log p, log Z = 0, so the reverse KL is exact up to Monte Carlo error.
    energy: (x) => tf.neg(teacher.model.logProb(x, ctx)),
    logZ: 0,
    logDensity: (points) => Float64Array.from(tf.tidy(() => teacher.model.logProb(tf.tensor2d(Float32Array.from(points), [points.length / teacher.model.dim, teacher.model.dim]), ctx)).dataSync()),
  };
  return { target, release: () => teacher.model.dispose() };
}

/**
 * A saved Lab model rebuilt with its weights (the caller disposes it). `overrides` change how it
 * computes, never its weights (the flow picture's ODE steps).
 */
export async function openLabModel(runsDir: string, id: string, overrides: Partial<Pick<LabSettings, 'odeSteps'>> = {}): Promise<{ json: LabModelJson; model: LabModel; dir: string }> {
  const dir = labModelDir(runsDir, id);
  const json = await readLabModelJson(dir);
  const model = buildLabModel(json.flow as LabFlowName, { ...json.settings, ...overrides }, json.dim, new Rng(json.settings.seed));
  try {
    await loadLabWeights(dir, model.params);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { json, model, dir };
}

function fitTargetOf(target: Target): LabFitTarget {
  if (target.kind === 'samples' && target.sample) return { kind: 'samples', draw: target.sample };
  if (target.kind === 'energy' && target.energy) return { kind: 'energy', energy: target.energy };
  throw new ConfigError('BAD_ARGUMENT', `The target ${target.label} has neither samples nor an energy to fit.`);
}

/**
 * Trains a new Lab model, or one further, and saves it with its evaluation. Nothing is created
 * before the settings and the target are checked; a model trained further starts Adam afresh
 * and draws new batches (its weights, curve and step count continue).
 */
export async function runLabSession(req: LabSessionRequest, hooks: LabSessionHooks = {}): Promise<LabSessionResult> {
  const draft = req.kind === 'new' ? newModelJson(req) : await readLabModelJson(labModelDir(req.runsDir, req.id));
  const { target, release } = await targetOf(draft.target, req.runsDir, new Rng(draft.settings.seed), hooks.roots);
  let opened: Awaited<ReturnType<typeof reopen>>;
  try {
    opened = req.kind === 'new' ? await create(req, { ...draft, dim: target.dim }) : await reopen(req);
  } catch (err) {
    release();
    throw err;
  }
  const { id, dir, lock, model } = opened;
  let json = opened.json;
  const rng = new Rng(json.settings.seed + json.step);
  const curve: LabCurvePoint[] = req.kind === 'continue' ? await readLabCurve(dir).catch(() => []) : [];
  const frames = hooks.onFrame && hooks.frame && target.bounds.length >= 2
    ? new FrameMaker(model, [target.bounds[0], target.bounds[1]], hooks.frame.res, hooks.frame.samples, json.settings.seed)
    : null;
  const elapsedBefore = curve.at(-1)?.elapsed ?? 0;
  let lastSave = performance.now();
  const save = async (step: number) => {
    json = { ...json, step };
    await saveLabModel(dir, json, model.params);
    await saveLabCurve(dir, curve);
    lastSave = performance.now();
  };
  const pending = {
    seconds: [...(hooks.evaluateAt?.seconds ?? [])].sort((a, b) => a - b),
    steps: [...(hooks.evaluateAt?.steps ?? [])].sort((a, b) => a - b),
  };
  /** Drops the values of `list` reached by `at`; whether there were any. */
  const reached = (list: number[], at: number): boolean => {
    const before = list.length;
    while (list.length && list[0] <= at) list.shift();
    return list.length < before;
  };
  const evaluateIfDue = async (step: number, seconds: number) => {
    const bySeconds = reached(pending.seconds, seconds);
    if (!reached(pending.steps, step) && !bySeconds) return;
    const result = await evaluateLabModel(model, target, { seconds, steps: step, seed: json.settings.seed });
    hooks.onEvaluation?.({ step, seconds, result });
  };
  try {
    await saveLabModel(dir, json, model.params);
    hooks.onStart?.({ id, dir, step: json.step, totalSteps: json.settings.steps, minutes: json.settings.minutes });
    await evaluateIfDue(json.step, elapsedBefore);
    const trained = await trainLabModel({
      model,
      target: fitTargetOf(target),
      objective: json.settings.objective,
      steps: json.settings.steps,
      minutes: json.settings.minutes,
      batch: json.settings.batch,
      lr: json.settings.lr,
      schedule: json.settings.schedule,
      startStep: json.step,
      rng,
      signal: hooks.signal,
      frameEveryMs: 250,
      onFrame: frames ? (step) => hooks.onFrame!(frames.make(step)) : undefined,
      onStep: async (r) => {
        curve.push({ step: r.step, loss: r.loss, elapsed: elapsedBefore + r.elapsed });
        hooks.onStep?.(r);
        if (performance.now() - lastSave > SAVE_EVERY_S * 1000) await save(r.step);
      },
      offClock: hooks.evaluateAt ? (r) => evaluateIfDue(r.step, elapsedBefore + r.elapsed) : undefined,
    });
    await save(trained.step);
    const result = await evaluateLabModel(model, target, { seconds: elapsedBefore + trained.seconds, steps: trained.step, seed: json.settings.seed });
    await saveLabResult(dir, result);
    return { id, dir, json, result, ended: trained.ended };
  } finally {
    frames?.dispose();
    release();
    model.dispose();
    await lock.release();
  }
}

/** A new model's model.json before its folder exists (dim is the target's, filled in once it is resolved). */
function newModelJson(req: Extract<LabSessionRequest, { kind: 'new' }>): LabModelJson {
  const objective = objectiveFor(req.flow, req.target, req.settings.objective);
  const checked = checkSettings<LabSettings>(labFields, { ...labDefaults(req.flow), ...req.settings, objective }, 'person');
  if (!checked.ok) throw new ConfigError('BAD_ARGUMENT', checked.problem.describe(checked.problem.field));
  return { format: LAB_MODEL_FORMAT, version: 1, flow: req.flow, dim: 0, settings: checked.value, target: req.target, created: new Date().toISOString(), step: 0 };
}

async function create(req: Extract<LabSessionRequest, { kind: 'new' }>, json: LabModelJson) {
  const model = buildLabModel(req.flow, json.settings, json.dim, new Rng(json.settings.seed));
  try {
    const { id, dir, lock } = await createLabFolder(req.runsDir, req.id, req.flow);
    return { id, dir, lock, json, model };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

async function reopen(req: Extract<LabSessionRequest, { kind: 'continue' }>) {
  const { dir, lock } = await lockLabFolder(req.runsDir, req.id);
  try {
    const saved = await readLabModelJson(dir);
    const steps = req.steps ?? saved.step + saved.settings.steps;
    if (steps <= saved.step) throw new ConfigError('BAD_ARGUMENT', `steps must be more than the ${saved.step} steps ${req.id} has trained.`);
    const json: LabModelJson = { ...saved, settings: { ...saved.settings, steps, minutes: req.minutes === undefined ? saved.settings.minutes : req.minutes } };
    const model = buildLabModel(json.flow as LabFlowName, json.settings, json.dim, new Rng(json.settings.seed));
    await loadLabWeights(dir, model.params).catch((err) => {
      model.dispose();
      throw err;
    });
    return { id: req.id, dir, lock, json, model };
  } catch (err) {
    await lock.release();
    throw err;
  }
}
