// `flowdesk lab --list` (every family with what it can do, every target and energy, from the
// Lab's catalog) and `flowdesk lab --runs` (the Lab models saved in the runs folder).
import { LAB_ENERGIES, LAB_FLOW_NAMES, LAB_FLOWS, LAB_SAMPLE_TARGETS, type LabDirection } from '../../common/lab/lab-catalog.ts';
import { listLabModels } from '../engine/lab/lab-store.ts';
import { targetName, textTable } from './lab-output.ts';

const DIRECTION: Record<LabDirection, string> = { closed: 'one pass', numerical: 'numerical', ode: 'ODE', none: 'none' };

export function labList(json: boolean, log: (line: string) => void): void {
  if (json) {
    for (const name of LAB_FLOW_NAMES) {
      const f = LAB_FLOWS[name];
      log(JSON.stringify({ kind: 'flow', name, label: f.label, density: f.density, sampling: f.sampling, objectives: f.objectives, knobs: f.knobs }));
    }
    for (const [name, t] of Object.entries(LAB_SAMPLE_TARGETS)) log(JSON.stringify({ kind: 'target', name, label: t.label, kl_to_truth: t.exact }));
    for (const [name, e] of Object.entries(LAB_ENERGIES)) log(JSON.stringify({ kind: 'energy', name, label: e.label, kl_to_truth: true }));
    return;
  }
  log('Flows (--flow): density and sampling in one pass, by a numerical inverse, or through an ODE');
  const flows = LAB_FLOW_NAMES.map((name) => {
    const f = LAB_FLOWS[name];
    return [name, f.label, DIRECTION[f.density], DIRECTION[f.sampling], f.objectives.join(', ')];
  });
  textTable(['  NAME', 'FAMILY', 'DENSITY', 'SAMPLING', 'OBJECTIVES (first is the default)'], flows.map(([n, ...rest]) => [`  ${n}`, ...rest])).forEach((l) => log(l));
  log('');
  log('Sample targets (--target), trained by likelihood:');
  for (const [name, t] of Object.entries(LAB_SAMPLE_TARGETS)) log(`  ${name.padEnd(14)}${t.label}${t.exact ? ' (true density known: KL to truth)' : ''}`);
  log('Energies (--energy), trained by reverse KL, KL to truth by a normalising grid:');
  for (const [name, e] of Object.entries(LAB_ENERGIES)) log(`  ${name.padEnd(14)}${e.label}`);
  log('Also: --expression "U(x, y)" (an energy typed in x and y), --csv FILE (a table of 2 to 64 numeric columns),');
  log('      --distil ID (a saved model\'s density, fitted by reverse KL).');
}

export async function labRuns(runsDir: string, json: boolean, log: (line: string) => void): Promise<void> {
  const { models, broken } = await listLabModels(runsDir);
  for (const b of broken) process.stderr.write(`flowdesk: skipped ${b.dir}: ${b.problem}\n`);
  const rows = models.map((m) => ({
    id: m.id,
    flow: m.model.flow,
    target: targetName(m.model.target),
    steps: m.model.step,
    test_nll: m.result?.testNll ?? null,
    kl_to_truth: m.result?.klToTruth ?? null,
    kl_se: m.result?.klSe ?? null,
    created: m.model.created,
    dir: m.dir,
  }));
  if (json) {
    for (const r of rows) log(JSON.stringify(r));
    return;
  }
  log(`${rows.length} Lab model${rows.length === 1 ? '' : 's'} in ${runsDir}`);
  if (rows.length === 0) return;
  const num = (v: number | null, digits: number) => (v === null ? '-' : v.toFixed(digits));
  textTable(
    ['ID', 'FLOW', 'TARGET', 'STEPS', 'TEST NLL', 'KL (± SE)'],
    rows.map((r) => [r.id, r.flow, r.target, `${r.steps}`, num(r.test_nll, 3), r.kl_to_truth === null ? '-' : `${num(r.kl_to_truth, 4)} ± ${num(r.kl_se, 4)}`]),
  ).forEach((l) => log(l));
}
