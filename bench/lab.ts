// `npm run bench -- --lab`: the Lab's figures for docs/performance.md. Every family trains on
// 8 Gaussians, checkerboard and rings at its default settings through the same session as
// `flowdesk lab` (the Lab's backend: wasm), scored at each time mark (1 and 3 minutes: one run, evaluated at 1
// minute off the training clock): KL to the truth ± SE, test NLL, steps/s, and the time to
// sample and to score 10,000 points. Then the best two per target (lowest KL at the last mark)
// train for 10 minutes. One JSON line per score, a summary line per target.
// --lab-minutes=1,3  --lab-flows=realnvp,maf (default: all)  --lab-targets=rings (default: the
// three with a known density)  --lab-long=10 (minutes for the best; 0 skips)  --lab-best=2.
// `--lab-refresh[=S]` instead trains each family S seconds (20) on the checkerboard with the live
// frames the app draws, and prints how often the heatmap refreshed (the issue asks 250 ms or better).
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_FLOW_NAMES, LAB_SAMPLE_TARGETS, type LabFlowName, type LabSampleTargetName } from '../common/lab/lab-catalog.ts';
import { labFields } from '../common/lab/lab-fields.ts';
import { liveFrameSize } from '../main/engine/lab/lab-frame.ts';
import { runLabSession } from '../main/engine/lab/lab-session.ts';
import type { LabResult } from '../main/engine/lab/lab-store.ts';
import { startLabBackend } from '../main/engine/runtime/lab-backend.ts';

type Emit = (obj: object) => void;

/** Below this KL to the truth (nats) a target counts as learned (the bar for 3 minutes). */
const GOOD_KL = 0.05;

function listOption<T extends string>(args: string[], name: string, all: readonly T[], fallback: readonly T[]): T[] {
  const raw = args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  if (raw === undefined) return [...fallback];
  const given = raw.split(',').filter((v) => v !== '');
  const unknown = given.find((v) => !all.includes(v as T));
  if (unknown !== undefined) throw new Error(`--${name} names ${unknown}; choose from ${all.join(', ')}`);
  return given as T[];
}

function numberOption(args: string[], name: string, fallback: number): number {
  const raw = args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number of at least 0, got ${raw}`);
  return value;
}

const round = (v: number | null, digits = 4): number | null => (v === null || !Number.isFinite(v) ? v : Number(v.toPrecision(digits)));

interface Score { minutes: number; steps: number; result: LabResult }

/** One family on one target for `marks` minutes (the last ends training), scored at each mark. */
async function trainAndScore(runsDir: string, flow: LabFlowName, target: LabSampleTargetName, marks: readonly number[]): Promise<Score[]> {
  const minutes = marks[marks.length - 1];
  const scores: Score[] = [];
  const session = await runLabSession(
    { kind: 'new', runsDir, flow, settings: { steps: labFields.steps.max, minutes }, target: { kind: 'samples', name: target } },
    {
      evaluateAt: { seconds: marks.slice(0, -1).map((m) => m * 60) },
      onEvaluation: (e) => scores.push({ minutes: marks[scores.length], steps: e.step, result: e.result }),
    },
  );
  scores.push({ minutes, steps: session.json.step, result: session.result });
  return scores;
}

function scoreLine(phase: string, flow: LabFlowName, target: LabSampleTargetName, s: Score) {
  const r = s.result;
  return {
    bench: 'lab', phase, target, flow, minutes: s.minutes, seconds: round(r.seconds), steps: s.steps,
    steps_per_s: round(r.seconds > 0 ? s.steps / r.seconds : null, 3),
    kl_to_truth: round(r.klToTruth), kl_se: round(r.klSe, 2), test_nll: round(r.testNll),
    sample_ms: round(r.sampleMs, 3), density_ms: round(r.densityMs, 3), load: round(loadavg()[0], 2),
  };
}

const percentile = (sorted: number[], q: number): number | null => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null);

/** Each family trains `seconds` on the checkerboard drawing the app's live frames; the intervals between frame starts. */
async function refreshBench(runsDir: string, flows: readonly LabFlowName[], seconds: number, emit: Emit): Promise<void> {
  for (const flow of flows) {
    const starts: number[] = [];
    const frameMs: number[] = [];
    const session = await runLabSession(
      { kind: 'new', runsDir, flow, settings: { steps: labFields.steps.max, minutes: seconds / 60 }, target: { kind: 'samples', name: 'checkerboard' } },
      { frame: liveFrameSize(flow), onFrame: (f) => { starts.push(performance.now() - f.ms); frameMs.push(f.ms); } },
    );
    // The last frame comes after training ends, not on the clock: left out.
    const intervals = starts.slice(1, -1).map((t, i) => t - starts[i]).sort((a, b) => a - b);
    emit({
      bench: 'lab-refresh', flow, res: liveFrameSize(flow).res, frames: starts.length,
      interval_median_ms: round(percentile(intervals, 0.5), 3), interval_p90_ms: round(percentile(intervals, 0.9), 3), interval_max_ms: round(intervals[intervals.length - 1] ?? null, 3),
      frame_median_ms: round(percentile([...frameMs].sort((a, b) => a - b), 0.5), 3),
      steps_per_s: round(session.json.step / session.result.seconds, 3), load: round(loadavg()[0], 2),
    });
  }
}

export async function labBench(args: string[], emit: Emit): Promise<void> {
  const marks = (args.find((a) => a.startsWith('--lab-minutes='))?.split('=')[1] ?? '1,3').split(',').map(Number).sort((a, b) => a - b);
  if (marks.some((m) => !(m > 0))) throw new Error('--lab-minutes takes minutes above 0, e.g. --lab-minutes=1,3');
  const flows = listOption(args, 'lab-flows', LAB_FLOW_NAMES, LAB_FLOW_NAMES);
  const targetNames = Object.keys(LAB_SAMPLE_TARGETS) as LabSampleTargetName[];
  const targets = listOption(args, 'lab-targets', targetNames, targetNames.filter((t) => LAB_SAMPLE_TARGETS[t].exact));
  const longMinutes = numberOption(args, 'lab-long', 10);
  const best = numberOption(args, 'lab-best', 2);
  emit({ bench: 'lab-backend', backend: (await startLabBackend()).name });
  const runsDir = await mkdtemp(join(tmpdir(), 'flowdesk-lab-bench-'));
  const refresh = args.find((a) => a === '--lab-refresh' || a.startsWith('--lab-refresh='));
  try {
    if (refresh) return await refreshBench(runsDir, flows, numberOption(args, 'lab-refresh', 20), emit);
    for (const target of targets) {
      const last: { flow: LabFlowName; kl: number }[] = [];
      for (const flow of flows) {
        try {
          const scores = await trainAndScore(runsDir, flow, target, marks);
          scores.forEach((s) => emit(scoreLine('marks', flow, target, s)));
          last.push({ flow, kl: scores[scores.length - 1].result.klToTruth ?? Infinity });
        } catch (err) {
          emit({ bench: 'lab', phase: 'marks', target, flow, failed: (err as Error).message });
        }
      }
      const ranked = [...last].sort((a, b) => a.kl - b.kl);
      const long: { flow: LabFlowName; kl: number | null }[] = [];
      for (const { flow } of longMinutes > 0 ? ranked.slice(0, best) : []) {
        const [score] = await trainAndScore(runsDir, flow, target, [longMinutes]);
        emit(scoreLine('long', flow, target, score));
        long.push({ flow, kl: round(score.result.klToTruth) });
      }
      const reached = ranked.filter((r) => r.kl < GOOD_KL).map((r) => r.flow);
      emit({ bench: 'lab-summary', target, minutes: marks[marks.length - 1], ranked: ranked.map((r) => ({ flow: r.flow, kl: round(r.kl) })), [`below_${GOOD_KL}`]: reached, long_minutes: longMinutes, long });
    }
  } finally {
    await rm(runsDir, { recursive: true, force: true });
  }
}
