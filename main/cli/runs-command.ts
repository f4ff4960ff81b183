// `flowdesk runs`: the runs in the runs folder, newest first, as the app's Runs view lists them
// (a run another process trains now reads "training", from its lock).
import { noisedDataNote } from '../../common/bits-per-dim-label.ts';
import { listRuns, type RunSummary } from '../engine/runs/run-list.ts';
import { parse } from './options.ts';
import { RUNS_HELP, runsDirOf } from './runs-folder.ts';

export const runsUsage = `Usage: flowdesk runs [--json]

Lists the runs in the runs folder, newest first: id, created, model, step, last validation
bits/dim (noting "data noised" for a model trained with noise augmentation) and status. Any command taking RUN accepts the id.
  --json       one JSON object per run, one per line, with the validation bits/dim at each
               time mark the run reached (valBpdAt: minutes, valBpd, step)
${RUNS_HELP}`;

function modelLabel(r: RunSummary): string {
  const m = r.run.model;
  return `${m.kind} ${m.size}x${m.size}x${m.channels}`;
}

/** The last validation, with what it is of where that is noised data. */
function valBpdCell(r: RunSummary): string {
  if (r.lastValBpd === null) return '-';
  const note = noisedDataNote(r.run.model);
  return note === null ? r.lastValBpd.toFixed(4) : `${r.lastValBpd.toFixed(4)} (${note})`;
}

function row(r: RunSummary) {
  return { id: r.id, created: r.created, model: modelLabel(r), step: r.step, steps: r.run.train.steps, lastValBpd: r.lastValBpd, valBpdAt: r.valBpdAt, status: r.status.status, dir: r.dir };
}

export async function runsCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values } = parse(argv, { json: { type: 'boolean' } }, 0, runsUsage);
  if (values.help) return (log(runsUsage), 0);
  const runsDir = runsDirOf(values);
  const { runs, broken } = await listRuns(runsDir);
  for (const b of broken) process.stderr.write(`flowdesk: skipped ${b.dir}: ${b.problem}\n`);
  if (values.json === true) {
    for (const r of runs) log(JSON.stringify(row(r)));
    return 0;
  }
  log(`${runs.length} run${runs.length === 1 ? '' : 's'} in ${runsDir}`);
  if (runs.length === 0) return 0;
  const table = runs.map((r) => {
    const x = row(r);
    return [x.id, x.created.slice(0, 19).replace('T', ' '), x.model, `${x.step}/${x.steps}`, valBpdCell(r), x.status];
  });
  const header = ['ID', 'CREATED (UTC)', 'MODEL', 'STEP', 'VAL BITS/DIM', 'STATUS'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  for (const line of [header, ...table]) log(line.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
  return 0;
}
