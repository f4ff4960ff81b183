// The Lab's thread: trains one Lab model at a time and draws targets, flow pictures, table
// rankings and distillation's sampling times, on the Lab's own backend (runtime/lab-backend.ts), so the image trainer's backend is never
// shared and the worker's main thread stays free to answer. Started by lab-thread-host.ts.
import { parentPort } from 'node:worker_threads';
import type { AppEvent, LabFlowPicture, LabRanking, LabTargetPicture } from '../../preload/api.ts';
import { LAB_RANK_ROWS } from '../../preload/api.ts';
import type { LabFlowName } from '../../common/lab/lab-catalog.ts';
import { ConfigError, toAppError } from '../engine/errors.ts';
import { Rng } from '../engine/random.ts';
import { liveFrameSize, type LabFrame } from '../engine/lab/lab-frame.ts';
import { samplingTimes } from '../engine/lab/lab-distil.ts';
import { flowPicture, targetPicture } from '../engine/lab/lab-pictures.ts';
import { rankTableRows } from '../engine/lab/lab-rank.ts';
import { openLabModel, runLabSession, type LabSessionRequest } from '../engine/lab/lab-session.ts';
import { labModelDir, readLabModelJson } from '../engine/lab/lab-store.ts';
import { resolveTarget } from '../engine/lab/targets/index.ts';
import { startLabBackend } from '../engine/runtime/lab-backend.ts';
import { asResult } from '../ipc-guard.ts';
import type { LabThreadCall, LabThreadMessage, LabThreadRequest } from './lab-protocol.ts';

const port = parentPort!;
const post = (m: LabThreadMessage) => port.postMessage(m);
const emit = (event: AppEvent) => post({ kind: 'event', event });
const ready = startLabBackend();

const TARGET_RES = 96;
const TARGET_POINTS = 1000;
/** Step events at most this often (the trainer steps far faster than a person reads). */
const STEP_EVENT_MS = 100;

/** Typed-array values as plain numbers for JSON, non-finite ones (zero density) as null. */
function finiteOrNull(values: ArrayLike<number>): (number | null)[] {
  return Array.from(values, (v) => (Number.isFinite(v) ? v : null));
}

let active: { id: string; stop: AbortController } | null = null;

/** Steps per second over the last few seconds, and the time left at that pace (the time limit too). */
class Pace {
  private readonly marks: { at: number; step: number }[] = [];
  constructor(private readonly deadlineS: number | null) {}
  add(step: number, elapsed: number): { stepsPerSec: number; eta: (total: number) => number | null } {
    this.marks.push({ at: elapsed, step });
    while (this.marks.length > 2 && elapsed - this.marks[0].at > 3) this.marks.shift();
    const first = this.marks[0];
    const stepsPerSec = elapsed > first.at ? (step - first.step) / (elapsed - first.at) : 0;
    return {
      stepsPerSec,
      eta: (total) => {
        if (stepsPerSec <= 0 || this.marks.length < 3) return null;
        const bySteps = (total - step) / stepsPerSec;
        return this.deadlineS === null ? bySteps : Math.min(bySteps, Math.max(0, this.deadlineS - elapsed));
      },
    };
  }
}

/** The family and time limit of what a train call will train: the request's, or the saved model's. */
async function planOf(request: LabSessionRequest): Promise<{ flow: LabFlowName; minutes: number | null }> {
  if (request.kind === 'new') return { flow: request.flow, minutes: typeof request.settings.minutes === 'number' ? request.settings.minutes : null };
  const saved = await readLabModelJson(labModelDir(request.runsDir, request.id));
  return { flow: saved.flow as LabFlowName, minutes: request.minutes === undefined ? saved.settings.minutes : request.minutes };
}

async function train(call: Extract<LabThreadCall, { op: 'train' }>): Promise<{ id: string }> {
  if (active) throw new ConfigError('LAB_BUSY', `Lab model ${active.id} is training; stop it first (the Lab trains one model at a time).`);
  const { flow, minutes } = await planOf(call.request);
  const stop = new AbortController();
  const pace = new Pace(minutes === null ? null : minutes * 60);
  return new Promise((resolve, reject) => {
    let id: string | null = null;
    let step = 0;
    let total = 0;
    let lastStepEvent = -Infinity;
    let lastFrameAt: number | null = null;
    const onFrame = (f: LabFrame) => {
      const now = performance.now();
      emit({
        type: 'lab-frame',
        id: id!,
        frame: {
          step: f.step,
          dim: f.dim,
          density: f.density ? { box: [[...f.density.box[0]], [...f.density.box[1]]], res: f.density.res, logp: finiteOrNull(f.density.logq) } : null,
          samples: finiteOrNull(f.samples) as number[],
          ms: f.ms,
          intervalMs: lastFrameAt === null ? null : now - lastFrameAt,
        },
      });
      lastFrameAt = now;
    };
    runLabSession(call.request, {
      signal: stop.signal,
      roots: call.roots,
      frame: liveFrameSize(flow),
      onFrame,
      onStart: (s) => {
        id = s.id;
        step = s.step;
        total = s.totalSteps;
        active = { id: s.id, stop };
        emit({ type: 'lab-start', id: s.id, flow, step: s.step, totalSteps: s.totalSteps });
        resolve({ id: s.id });
      },
      onStep: (r) => {
        step = r.step;
        const now = performance.now();
        const { stepsPerSec, eta } = pace.add(r.step, r.elapsed);
        if (now - lastStepEvent < STEP_EVENT_MS && r.step < total) return;
        lastStepEvent = now;
        emit({ type: 'lab-step', id: id!, step: r.step, totalSteps: total, loss: r.loss, stepsPerSec, eta: eta(total), elapsed: r.elapsed });
      },
    })
      .then(
        (out) => emit({ type: 'lab-stopped', id: out.id, step: out.json.step, ended: out.ended, result: out.result }),
        (err) => (id === null ? reject(err) : emit({ type: 'lab-stopped', id, step, ended: 'failed', result: null, error: toAppError(err) })),
      )
      .finally(() => {
        if (active?.stop === stop) active = null;
      });
  });
}

async function picture(call: Extract<LabThreadCall, { op: 'picture' }>): Promise<LabFlowPicture> {
  const saved = await readLabModelJson(labModelDir(call.runsDir, call.id));
  if (saved.dim !== 2) throw new ConfigError('BAD_ARGUMENT', `The flow picture shows two-dimensional models; ${call.id} has ${saved.dim} dimensions (a table: pick two columns in its projections instead).`);
  const { model, json } = await openLabModel(call.runsDir, call.id, call.stages === undefined ? {} : { odeSteps: call.stages });
  try {
    const p = flowPicture(model, json.settings.seed);
    return {
      box: [[...p.box[0]], [...p.box[1]]],
      lines: p.lines,
      linePoints: p.linePoints,
      samples: p.samples,
      stages: p.stages.map((s) => ({ t: s.t, points: finiteOrNull(s.points) as number[], velocity: s.velocity ? Array.from(s.velocity) : null })),
      arrows: p.arrows ? Array.from(p.arrows) : null,
    };
  } finally {
    model.dispose();
  }
}

async function target(call: Extract<LabThreadCall, { op: 'target' }>): Promise<LabTargetPicture> {
  if (call.target.kind === 'model') throw new ConfigError('BAD_ARGUMENT', `A model to distil has no picture of its own; open ${call.target.id} in the table to see its density.`);
  const t = await resolveTarget(call.target, new Rng(0), { roots: call.roots });
  const p = targetPicture(t, new Rng(1), TARGET_RES, TARGET_POINTS);
  return {
    label: t.label,
    dim: t.dim,
    kind: t.kind,
    density: p.density ? { box: [[...p.density.box[0]], [...p.density.box[1]]], res: p.density.res, logp: finiteOrNull(p.density.logp), from: p.density.from } : null,
    samples: Array.from(p.samples),
  };
}

async function rank(call: Extract<LabThreadCall, { op: 'rank' }>): Promise<LabRanking> {
  const { model, json } = await openLabModel(call.runsDir, call.id);
  try {
    if (json.target.kind !== 'csv') throw new ConfigError('BAD_ARGUMENT', `${call.id} was trained on ${json.target.kind === 'samples' ? 'samples of a named target' : `a target of kind ${json.target.kind}`}; only a model of a CSV table ranks its rows.`);
    // The model's own seed splits the table as its training did, so the held-out rows are the same.
    const t = await resolveTarget(json.target, new Rng(json.settings.seed), { roots: call.roots });
    const rows = rankTableRows(model, t.table!);
    return { columns: t.table!.columns, total: rows.length, rows: rows.slice(0, LAB_RANK_ROWS) };
  } finally {
    model.dispose();
  }
}

async function answer(call: LabThreadCall): Promise<unknown> {
  await ready;
  switch (call.op) {
    case 'train': return train(call);
    case 'stop':
      if (active?.id === call.id) active.stop.abort();
      return null;
    case 'target': return target(call);
    case 'picture': return picture(call);
    case 'rank': return rank(call);
    case 'sampling-times': return samplingTimes(call.runsDir, call.teacher, call.student);
  }
}

port.on('message', (m: LabThreadRequest) => {
  void asResult(() => answer(m.call)).then((result) => post({ kind: 'reply', seq: m.seq, result }));
});
