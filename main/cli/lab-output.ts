// What `flowdesk lab` prints about a training session: a progress line (step, loss, rate, ETA)
// while it trains, then a readable summary or one JSON line, and the least likely rows of a table.
import { LAB_FLOWS, type LabFlowName, type LabTargetSpec } from '../../common/lab/lab-catalog.ts';
import type { RankedRow } from '../engine/lab/csv-rank.ts';
import type { LabSessionResult } from '../engine/lab/lab-session.ts';
import type { LabResult } from '../engine/lab/lab-store.ts';
import type { LabStepReport } from '../engine/lab/lab-trainer.ts';
import { EtaEstimator } from '../engine/train/eta.ts';
import { formatDuration, ProgressBar } from './progress-bar.ts';

/** How a target is named in the output: its name, file, expression or teacher. */
export function targetName(spec: LabTargetSpec): string {
  switch (spec.kind) {
    case 'samples':
    case 'energy':
      return spec.name;
    case 'csv':
      return spec.file;
    case 'expression':
      return spec.expression;
    case 'model':
      return `model ${spec.id}`;
    default:
      return spec.kind;
  }
}

/** The progress line on stderr; `limit` is this session's: steps to reach and minutes (or null). */
export function labProgress(bar: ProgressBar, limit: { startStep: number; steps: number; minutes: number | null; unboundedSteps: boolean }) {
  const eta = new EtaEstimator();
  return (r: LabStepReport) => {
    eta.stepEnded(r.elapsed);
    const budget = limit.minutes === null ? Infinity : limit.minutes * 60;
    const done = Math.max((r.step - limit.startStep) / (limit.steps - limit.startStep), r.elapsed / budget);
    const rate = r.elapsed > 0 ? (r.step - limit.startStep) / r.elapsed : 0;
    const left = eta.secondsLeft(limit.steps - r.step, budget - r.elapsed);
    const steps = limit.unboundedSteps ? `step ${r.step}` : `step ${r.step}/${limit.steps}`;
    bar.update(Math.min(1, done) * 1000, 1000, `${steps}  loss ${r.loss.toFixed(3)}  ${rate.toFixed(1)} steps/s  ETA ${formatDuration(left)}`);
  };
}

/** Five significant digits: more than the Monte Carlo error of any score here. */
const round = (v: number | null): number | null => (v === null || !Number.isFinite(v) ? v : Number(v.toPrecision(5)));

/** The scores of a result in the JSON line's names (snake_case, nats, milliseconds). */
export function resultFields(result: LabResult) {
  return {
    test_nll: round(result.testNll),
    kl_to_truth: round(result.klToTruth),
    kl_se: round(result.klSe),
    ess: round(result.ess),
    seconds: round(result.seconds),
    ms_per_step: round(result.msPerStep),
    sample_ms: round(result.sampleMs),
    density_ms: round(result.densityMs),
  };
}

/** The one JSON line of `--json`: what trained on what, its scores, and where it is saved. */
export function sessionJson(s: LabSessionResult) {
  const reverse = s.json.settings.objective === 'reverse-kl';
  return {
    target: targetName(s.json.target),
    target_kind: s.json.target.kind,
    flow: s.json.flow,
    id: s.id,
    objective: s.json.settings.objective,
    steps: s.json.step,
    ended: s.ended,
    ...resultFields(s.result),
    // KL(p‖q) on target samples when fitting samples; KL(q‖p) on the model's draws for an energy or a teacher.
    kl_direction: s.result.klToTruth === null ? null : reverse ? 'reverse' : 'forward',
    dir: s.dir,
  };
}

const ENDED = { steps: 'all steps done', minutes: 'time limit reached', stopped: 'stopped' } as const;

const fixed = (v: number | null, digits = 3) => (v === null ? 'n/a' : v.toFixed(digits));

/** A few lines a person reads after a session. */
export function sessionSummary(s: LabSessionResult): string[] {
  const r = s.result;
  const flow = LAB_FLOWS[s.json.flow as LabFlowName].label;
  const lines = [`${flow} on ${targetName(s.json.target)}: ${s.json.step} steps in ${r.seconds.toFixed(1)} s (${r.msPerStep.toFixed(1)} ms/step), ${ENDED[s.ended]}`];
  if (r.testNll !== null) lines.push(`  test NLL ${fixed(r.testNll)} nats`);
  if (r.klToTruth !== null) {
    const what = s.json.target.kind === 'model' ? 'KL to the teacher' : s.json.settings.objective === 'reverse-kl' ? 'KL(model ‖ truth)' : 'KL(truth ‖ model)';
    lines.push(`  ${what} ${fixed(r.klToTruth, 4)} ± ${fixed(r.klSe, 4)} nats`);
  }
  if (r.ess !== null) lines.push(`  effective sample size ${(100 * r.ess).toPrecision(2)}% of the draws`);
  lines.push(`  10,000 points: sampling ${r.sampleMs.toFixed(0)} ms, densities ${r.densityMs.toFixed(0)} ms`);
  lines.push(`Lab model ${s.id}, saved in ${s.dir}`);
  return lines;
}

/** Distillation's JSON fields: the KL to the teacher before training (null when not measured) and both sampling times. */
export function distilFields(teacher: string, before: LabResult | null, times: { teacherMs: number; studentMs: number }) {
  return {
    teacher,
    kl_to_teacher_start: round(before?.klToTruth ?? null),
    kl_to_teacher_start_se: round(before?.klSe ?? null),
    teacher_sample_ms: round(times.teacherMs),
    student_sample_ms: round(times.studentMs),
    speedup: round(times.teacherMs / times.studentMs),
  };
}

export function distilSummary(teacher: string, before: LabResult | null, after: LabResult, times: { teacherMs: number; studentMs: number }): string[] {
  const from = before ? `${fixed(before.klToTruth, 4)} before training, ` : '';
  return [
    `Distilled from ${teacher}: KL to the teacher ${from}${fixed(after.klToTruth, 4)} now`,
    `Sampling 10,000 points: teacher ${times.teacherMs.toFixed(0)} ms, student ${times.studentMs.toFixed(0)} ms (${(times.teacherMs / times.studentMs).toFixed(1)}x as fast)`,
  ];
}

/** Left-aligned columns under a header, two spaces apart. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((line) => line.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
}

/** The ranked rows as a table: rank, line in the file, train or held out, NLL, values. */
export function rankedRowsTable(rows: readonly RankedRow[], total: number): string[] {
  const cells = rows.map((r, i) => [`${i + 1}`, `${r.line}`, r.heldOut ? 'held out' : 'train', r.nll.toFixed(3), r.values.map((v) => String(v)).join(', ')]);
  return [
    `The ${rows.length} least likely of ${total} rows (NLL of the standardised row, as test NLL):`,
    ...textTable(['RANK', 'LINE', 'SET', 'NLL (nats)', 'VALUES'], cells),
  ];
}

export function rankedRowsJson(rows: readonly RankedRow[]) {
  return rows.map((r) => ({ line: r.line, held_out: r.heldOut, nll: round(r.nll), values: r.values }));
}
