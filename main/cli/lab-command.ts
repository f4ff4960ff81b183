// `flowdesk lab`: trains one Lab model (a vector flow on a toy target, an energy, a table, or a
// saved teacher to distil) through the same session as the app's Lab view, prints its scores,
// lists families, targets and saved models, and trains a saved one further.
import { resolve } from 'node:path';
import { LAB_ENERGIES, LAB_FLOW_NAMES, LAB_FLOWS, LAB_SAMPLE_TARGETS, type LabFlowName, type LabTargetSpec } from '../../common/lab/lab-catalog.ts';
import { labFields } from '../../common/lab/lab-fields.ts';
import { flagOf } from '../../common/settings/field.ts';
import { CheckpointError } from '../engine/errors.ts';
import { writeFileAtomically } from '../engine/fs/atomic-write.ts';
import { rankedRowsCsv, rankLabModelRows } from '../engine/lab/csv-rank.ts';
import { samplingTimes } from '../engine/lab/lab-distil.ts';
import { runLabSession, type LabEvaluation, type LabSessionRequest, type LabSessionResult } from '../engine/lab/lab-session.ts';
import { labModelDir, readLabModelJson } from '../engine/lab/lab-store.ts';
import { startLabBackend } from '../engine/runtime/lab-backend.ts';
import { labList, labRuns } from './lab-listings.ts';
import { distilFields, distilSummary, labProgress, rankedRowsJson, rankedRowsTable, sessionJson, sessionSummary } from './lab-output.ts';
import { choiceOption, numberOption, parse, takeBareFlag, UsageError, type Parsed } from './options.ts';
import { ProgressBar } from './progress-bar.ts';
import { RUNS_HELP, runsDirOf } from './runs-folder.ts';
import { givenSettingsChecked, settingOptions, settingsHelp } from './settings-options.ts';

/** Rows `--rank` lists when it is given no count. */
const RANK_DEFAULT = 10;

export const labUsage = `Usage: flowdesk lab --target NAME --flow FLOW [options]   fit samples by maximum likelihood
       flowdesk lab --energy NAME | --expression "U" --flow FLOW   fit exp(-U) by reverse KL
       flowdesk lab --csv FILE --flow FLOW [--rank [N]] [--rank-out F.csv]   fit a table, rank its rows
       flowdesk lab --distil TEACHER_ID [--flow iaf]      distil a saved model into an IAF student
       flowdesk lab --open ID [--steps N] [--minutes M]   train a saved Lab model further
       flowdesk lab --list | --runs [DIR]                  families and targets | saved Lab models

Trains one vector flow on the cpu and prints test NLL (nats, 10,000 fresh target samples or the
table's held-out 10%), the KL divergence to the truth where it is known (forward on target
samples, reverse with the effective sample size for an energy), and the time to sample and to
score 10,000 points. Ctrl-C stops after the current step; the model is saved and evaluated.

What to fit (one of):
  --target NAME           ${Object.keys(LAB_SAMPLE_TARGETS).join(', ')}
  --energy NAME           ${Object.keys(LAB_ENERGIES).join(', ')}
  --expression U          an energy in x and y: numbers, + - * / ^, exp log sin cos sqrt abs min max
  --csv FILE              numeric rows of 2 to 64 columns (a header line is optional), 10% held out
  --distil ID             a saved Lab model's density (e.g. a MAF), fitted by reverse KL
  --open ID               train saved model ID further: --steps is the step count to reach (default:
                          its steps again), --minutes a new time limit; nothing else changes
Model and training (each family uses some; --list names them):
  --flow FLOW             ${LAB_FLOW_NAMES.join(', ')}
${settingsHelp(labFields, { objective: ' (reverse-kl for an energy, an expression or --distil)' })}
Output:
  --json                  one JSON line: target, flow, id, steps, test_nll, kl_to_truth, kl_se, ess,
                          seconds, ms_per_step, sample_ms, density_ms, ...
  --rank [N]              with a table: the N least likely rows (default ${RANK_DEFAULT}), training and held out
  --rank-out FILE         every row, least likely first, as CSV (rank, line, held_out, nll, values)
  --name NAME             the new model's id (default: flow, time and a random suffix)
  --list                  every family (density and sampling cost, objectives), target and energy
  --runs [DIR]            alone: the Lab models saved in the runs folder (id, flow, target, steps, scores)
${RUNS_HELP}`;

const labOptions = {
  target: { type: 'string' },
  energy: { type: 'string' },
  expression: { type: 'string' },
  csv: { type: 'string' },
  distil: { type: 'string' },
  open: { type: 'string' },
  flow: { type: 'string' },
  ...settingOptions(labFields),
  json: { type: 'boolean' },
  rank: { type: 'string' },
  'rank-out': { type: 'string' },
  name: { type: 'string' },
  list: { type: 'boolean' },
} as const;

const SOURCES = ['target', 'energy', 'expression', 'csv', 'distil', 'open'] as const;

function text(values: Parsed['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** What the options ask to fit; exactly one source. */
function targetOf(values: Parsed['values']): LabTargetSpec {
  const target = text(values, 'target');
  if (target !== undefined) {
    if (Object.hasOwn(LAB_SAMPLE_TARGETS, target)) return { kind: 'samples', name: target as keyof typeof LAB_SAMPLE_TARGETS };
    const hint = Object.hasOwn(LAB_ENERGIES, target) ? `; ${target} is an energy: give --energy ${target}` : '';
    throw new UsageError(`--target must be one of ${Object.keys(LAB_SAMPLE_TARGETS).join(', ')}, got ${JSON.stringify(target)}${hint}`);
  }
  const energy = choiceOption(values, 'energy', Object.keys(LAB_ENERGIES) as (keyof typeof LAB_ENERGIES)[]);
  if (energy !== undefined) return { kind: 'energy', name: energy };
  const expression = text(values, 'expression');
  if (expression !== undefined) return { kind: 'expression', expression };
  const csv = text(values, 'csv');
  if (csv !== undefined) return { kind: 'csv', file: resolve(csv) };
  return { kind: 'model', id: text(values, 'distil')! };
}

/** The settings given, checked and named by option; those a family does not use are refused. */
function settingsFor(flow: LabFlowName, values: Parsed['values']): Record<string, unknown> {
  const given = givenSettingsChecked(labFields, values);
  const knobs: readonly string[] = LAB_FLOWS[flow].knobs;
  for (const key of Object.keys(given)) {
    // The objective is checked against the target by the session, with the families that can train by it.
    if (key === 'objective' || knobs.includes(key)) continue;
    const users = LAB_FLOW_NAMES.filter((f) => (LAB_FLOWS[f].knobs as readonly string[]).includes(key));
    throw new UsageError(`--${flagOf(key, labFields[key as keyof typeof labFields])} does not apply to ${flow} (it applies to ${users.join(', ')})`);
  }
  // A time limit alone trains until it ends.
  if (given.minutes !== undefined && given.steps === undefined) given.steps = labFields.steps.max;
  return given;
}

/** `--open`: only the step count and the time limit may change. */
function continueLimits(values: Parsed['values']): { steps?: number; minutes?: number } {
  for (const key of Object.keys(labFields) as (keyof typeof labFields)[]) {
    const flag = flagOf(key, labFields[key]);
    if (key !== 'steps' && key !== 'minutes' && values[flag] !== undefined) {
      throw new UsageError(`--${flag} cannot change when a model is trained further; only --steps and --minutes can`);
    }
  }
  const steps = numberOption(values, 'steps', { integer: true, min: 1, max: labFields.steps.max });
  const minutes = numberOption(values, 'minutes', { min: labFields.minutes.min, max: labFields.minutes.max });
  return { steps: steps ?? (minutes !== undefined ? labFields.steps.max : undefined), minutes };
}

/** A saved model's model.json; one that is not there is named with where to find the ids. */
async function savedModel(runsDir: string, id: string) {
  try {
    return await readLabModelJson(labModelDir(runsDir, id));
  } catch (err) {
    if (err instanceof CheckpointError && err.code === 'NO_CHECKPOINT') throw new UsageError(`no Lab model ${JSON.stringify(id)} in ${runsDir}; flowdesk lab --runs lists them`);
    throw err;
  }
}

/** `--rank [N]` and `--rank-out`: how many rows to list (0: none) and where to export them all. */
function rankRequest(values: Parsed['values'], bare: boolean): { list: number; out?: string } | null {
  const out = text(values, 'rank-out');
  const count = numberOption(values, 'rank', { integer: true, min: 1 });
  if (!bare && count === undefined && out === undefined) return null;
  return { list: count ?? (bare ? RANK_DEFAULT : 0), out };
}

export async function labCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const runsFlag = takeBareFlag(argv, 'runs');
  const rankFlag = takeBareFlag(runsFlag.argv, 'rank');
  const { values } = parse(rankFlag.argv, labOptions, 0, labUsage);
  if (values.help) return (log(labUsage), 0);
  const json = values.json === true;
  const sources = SOURCES.filter((s) => values[s] !== undefined);
  if (values.list === true) {
    if (sources.length) throw new UsageError('--list takes no target; give it alone');
    labList(json, log);
    return 0;
  }
  if (sources.length === 0) {
    if (runsFlag.bare || values.runs !== undefined) return (await labRuns(runsDirOf(values), json, log), 0);
    throw new UsageError(`say what to fit: --target, --energy, --expression, --csv, --distil or --open (or --list, --runs)\n\n${labUsage}`);
  }
  if (runsFlag.bare) throw new UsageError('--runs alone lists the saved Lab models; to train, give --runs DIR (the folder to save in)');
  if (sources.length > 1) throw new UsageError(`give one of --${sources.join(', --')}, not several`);
  const runsDir = runsDirOf(values);
  const rank = rankRequest(values, rankFlag.bare);
  let request: LabSessionRequest;
  if (sources[0] === 'open') {
    const id = text(values, 'open')!;
    if (values.flow !== undefined || values.name !== undefined) throw new UsageError('--open trains a saved model further; its family and name stay (no --flow or --name)');
    const saved = await savedModel(runsDir, id);
    if (rank && saved.target.kind !== 'csv') throw new UsageError(`--rank needs a model of a table; ${id} learned ${saved.target.kind === 'samples' ? 'samples of a toy target' : `a ${saved.target.kind} target`}`);
    request = { kind: 'continue', runsDir, id, ...continueLimits(values) };
  } else {
    const target = targetOf(values);
    if (target.kind === 'model') await savedModel(runsDir, target.id);
    if (rank && target.kind !== 'csv') throw new UsageError('--rank and --rank-out rank the rows of a table: give --csv FILE');
    const flowGiven = choiceOption(values, 'flow', LAB_FLOW_NAMES);
    const flow = flowGiven ?? (target.kind === 'model' ? 'iaf' : undefined);
    if (flow === undefined) throw new UsageError(`give --flow, one of ${LAB_FLOW_NAMES.join(', ')} (flowdesk lab --list says what each can do)`);
    request = { kind: 'new', runsDir, id: text(values, 'name'), flow, settings: settingsFor(flow, values), target };
  }
  const session = await trainWithProgress(request, json, request.kind === 'new' && request.target.kind === 'model');
  const out: Record<string, unknown> = sessionJson(session.result);
  const lines = sessionSummary(session.result);
  if (session.result.json.target.kind === 'model') {
    const teacher = session.result.json.target.id;
    const times = await samplingTimes(runsDir, teacher, session.result.id);
    const before = session.evaluations[0]?.result ?? null;
    Object.assign(out, distilFields(teacher, before, times));
    lines.push(...distilSummary(teacher, before, session.result.result, times));
  }
  if (rank) {
    const { table, rows } = await rankLabModelRows(runsDir, session.result.id);
    if (rank.out) {
      await writeFileAtomically(resolve(rank.out), rankedRowsCsv(table, rows));
      lines.push(`Every row, least likely first: ${resolve(rank.out)}`);
    }
    if (rank.list > 0) {
      out.least_likely = rankedRowsJson(rows.slice(0, rank.list));
      lines.push(...rankedRowsTable(rows.slice(0, rank.list), rows.length));
    }
  }
  if (json) log(JSON.stringify(out));
  else lines.forEach((line) => log(line));
  return session.result.ended === 'stopped' ? 130 : 0;
}

/**
 * Runs the session on the Lab's backend (runtime/lab-backend.ts), with a progress line
 * unless `json`, and Ctrl-C as a stop request. `firstEvaluation` also scores the model before
 * its first step (distillation reports the KL to the teacher falling).
 */
async function trainWithProgress(request: LabSessionRequest, json: boolean, firstEvaluation: boolean): Promise<{ result: LabSessionResult; evaluations: LabEvaluation[] }> {
  const backend = await startLabBackend();
  process.stderr.write(`backend: ${backend.name} (tfjs; the Lab's vectors are small)\n`);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(130);
    process.stderr.write('\nStopping after the current step; the model is saved and evaluated (Ctrl-C again to quit now)...\n');
    controller.abort();
  };
  const bar = new ProgressBar();
  let progress: ReturnType<typeof labProgress> | undefined;
  const evaluations: LabEvaluation[] = [];
  process.on('SIGINT', onSigint);
  try {
    const result = await runLabSession(request, {
      signal: controller.signal,
      evaluateAt: firstEvaluation ? { steps: [0] } : undefined,
      onEvaluation: (e) => evaluations.push(e),
      onStart: (s) => {
        if (json) return;
        bar.log(`Training ${s.id} from step ${s.step} to ${s.totalSteps >= labFields.steps.max ? 'the time limit' : s.totalSteps}`);
        progress = labProgress(bar, { startStep: s.step, steps: s.totalSteps, minutes: s.minutes, unboundedSteps: s.totalSteps >= labFields.steps.max });
      },
      onStep: (r) => progress?.(r),
    });
    bar.clear();
    return { result, evaluations };
  } finally {
    process.off('SIGINT', onSigint);
  }
}
