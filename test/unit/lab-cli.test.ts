// `flowdesk lab` as a person uses it: one JSON line of scores for a short run, the catalog and
// the saved models listed, a model trained further, an energy by reverse KL with its ESS, a table
// refused for a bad cell or ranked least likely first, a MAF distilled into an IAF, and bad
// arguments refused with a message and a non-zero exit. One run spawns the real binary; the rest
// call the command in-process (same parser, same output) to keep the file quick.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LAB_ENERGIES, LAB_FLOW_NAMES, LAB_SAMPLE_TARGETS } from '../../common/lab/lab-catalog.ts';
import { runCli } from '../../main/cli.ts';
import { BIN, cliEnv } from '../helpers/cli-env.ts';

let home: string;
let runs: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'lab-cli-home-'));
  runs = await mkdtemp(join(tmpdir(), 'lab-cli-runs-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
  await rm(runs, { recursive: true, force: true });
});

/** `flowdesk lab ARGS --runs <runs>` in this process: its exit code, stdout lines and stderr. */
async function lab(...args: string[]): Promise<{ code: number; lines: string[]; err: string }> {
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  try {
    const code = await runCli(['lab', ...args, '--runs', runs]);
    return { code, lines: out.split('\n').filter((l) => l !== ''), err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

async function labJson(...args: string[]): Promise<Record<string, unknown>> {
  const r = await lab(...args, '--json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.lines.at(-1)!);
}

const SMALL = ['--layers', '2', '--hidden', '16', '--batch', '128', '--lr', '5e-3'];

/** A table of two correlated columns and one row far from the rest (line 42, after the header). */
async function tableFile(name: string, cell?: string): Promise<string> {
  const rows = Array.from({ length: 60 }, (_, i) => {
    const u = Math.sin(i * 1.7) * 2;
    return `${u.toFixed(3)},${(0.8 * u + Math.cos(i * 2.3)).toFixed(3)}`;
  });
  rows[40] = '9,-9';
  if (cell) rows[2] = `1,${cell}`;
  const file = join(runs, name);
  await writeFile(file, ['x,y', ...rows].join('\n') + '\n');
  return file;
}

describe('flowdesk lab', () => {
  it('prints one JSON line of scores for a short run (the real binary)', () => {
    const r = spawnSync(process.execPath, [BIN, 'lab', '--target', 'checkerboard', '--flow', 'spline-coupling', ...SMALL, '--steps', '40', '--seed', '0', '--json', '--runs', runs], { encoding: 'utf8', env: cliEnv(home) });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^backend: wasm/m);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]);
    expect(out).toMatchObject({ target: 'checkerboard', flow: 'spline-coupling', steps: 40, ended: 'steps', objective: 'likelihood', kl_direction: 'forward', ess: null });
    for (const key of ['test_nll', 'kl_to_truth', 'kl_se', 'seconds', 'ms_per_step', 'sample_ms', 'density_ms']) expect(typeof out[key], key).toBe('number');
    expect(out.kl_se).toBeGreaterThan(0);
    // KL(p‖q) ≥ 0 up to Monte Carlo error, and NLL = entropy (log 32 on the checkerboard) + KL.
    expect(out.kl_to_truth).toBeGreaterThan(-3 * out.kl_se);
    // Both come from the same 10,000 target samples, so they agree to the printed digits.
    expect(Math.abs(out.test_nll - Math.log(32) - out.kl_to_truth)).toBeLessThan(1e-3);
    expect(typeof out.id).toBe('string');
  });

  it('lists every family with its costs and objectives, every target and energy', async () => {
    const text = (await lab('--list')).lines.join('\n');
    for (const name of [...LAB_FLOW_NAMES, ...Object.keys(LAB_SAMPLE_TARGETS), ...Object.keys(LAB_ENERGIES)]) expect(text).toContain(name);
    expect(text).toMatch(/maf\s+MAF\s+one pass\s+numerical\s+likelihood/);
    const rows = (await lab('--list', '--json')).lines.map((l) => JSON.parse(l));
    expect(rows.filter((r) => r.kind === 'flow').map((r) => r.name)).toEqual(LAB_FLOW_NAMES);
    expect(rows.find((r) => r.name === 'iaf')).toMatchObject({ density: 'numerical', sampling: 'closed', objectives: ['reverse-kl', 'likelihood'] });
    expect(rows.filter((r) => r.kind === 'energy')).toHaveLength(Object.keys(LAB_ENERGIES).length);
  });

  it('lists saved models and trains one further, its step count growing', async () => {
    const first = await labJson('--target', '8gaussians', '--flow', 'realnvp', ...SMALL, '--steps', '30', '--name', 'further');
    expect(first).toMatchObject({ id: 'further', steps: 30 });
    const again = await labJson('--open', 'further', '--steps', '60');
    expect(again).toMatchObject({ id: 'further', steps: 60, flow: 'realnvp', target: '8gaussians' });
    const listed = (await lab('--runs', '--json')).lines.map((l) => JSON.parse(l)).find((m) => m.id === 'further');
    expect(listed).toMatchObject({ flow: 'realnvp', target: '8gaussians', steps: 60, kl_to_truth: expect.any(Number) });
    const table = (await lab('--runs')).lines;
    expect(table[1]).toMatch(/^ID\s+FLOW\s+TARGET\s+STEPS\s+TEST NLL\s+KL/);
    expect(table.some((l) => /^further\s+realnvp\s+8gaussians\s+60\s/.test(l))).toBe(true);
  });

  it('fits an energy by reverse KL, with the ESS a fraction in (0, 1]', async () => {
    const out = await labJson('--energy', 'u1', '--objective', 'reverse-kl', '--flow', 'iaf', ...SMALL, '--steps', '40');
    expect(out).toMatchObject({ objective: 'reverse-kl', kl_direction: 'reverse', test_nll: null });
    expect(out.ess).toBeGreaterThan(0);
    expect(out.ess).toBeLessThanOrEqual(1);
    expect(out.kl_to_truth).toBeGreaterThan(-3 * (out.kl_se as number));
  });

  it('refuses a table with a bad cell, naming its line and column, before creating anything', async () => {
    const file = await tableFile('bad.csv', 'n/a');
    const models = () => readdir(join(runs, 'lab')).catch(() => []);
    const before = await models();
    const r = await lab('--csv', file, '--flow', 'maf', '--steps', '5');
    expect(r.code).not.toBe(0);
    // The header is line 1, so the third row is line 4.
    expect(r.err).toMatch(/bad\.csv, line 4, column 2: the value is not a number/);
    expect(await models()).toEqual(before);
  });

  it('ranks a table\'s rows least likely first, and exports every row', async () => {
    const out = await labJson('--csv', await tableFile('good.csv'), '--flow', 'maf', ...SMALL, '--steps', '150', '--rank', '5', '--rank-out', join(runs, 'ranked.csv'));
    const shown = out.least_likely as { line: number; nll: number; held_out: boolean; values: number[] }[];
    expect(shown).toHaveLength(5);
    expect(shown[0]).toMatchObject({ line: 42, values: [9, -9] });
    for (let i = 1; i < shown.length; i++) expect(shown[i].nll).toBeLessThanOrEqual(shown[i - 1].nll);
    const [header, ...rows] = (await readFile(join(runs, 'ranked.csv'), 'utf8')).trim().split('\n');
    expect(header).toBe('rank,line,held_out,nll,x,y');
    expect(rows).toHaveLength(60);
    const parsed = rows.map((l) => l.split(','));
    expect(parsed.map((c) => Number(c[0]))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    const nlls = parsed.map((c) => Number(c[3]));
    for (let i = 1; i < nlls.length; i++) expect(nlls[i]).toBeLessThanOrEqual(nlls[i - 1]);
    // The held-out rows' mean NLL is the model's test NLL: the ranking scores what evaluation scored.
    const held = parsed.filter((c) => c[2] === 'true').map((c) => Number(c[3]));
    expect(held).toHaveLength(6);
    expect(Math.abs(held.reduce((a, b) => a + b, 0) / held.length - (out.test_nll as number))).toBeLessThan(1e-3);
  });

  it('distils a MAF teacher into an IAF student: the KL to the teacher falls, both sampling times measured', async () => {
    await labJson('--target', '8gaussians', '--flow', 'maf', ...SMALL, '--steps', '150', '--name', 'teacher');
    const out = await labJson('--distil', 'teacher', ...SMALL, '--steps', '150');
    expect(out).toMatchObject({ flow: 'iaf', target: 'model teacher', teacher: 'teacher', kl_direction: 'reverse' });
    const [start, startSe, end, endSe] = [out.kl_to_teacher_start, out.kl_to_teacher_start_se, out.kl_to_truth, out.kl_se] as number[];
    expect(end).toBeLessThan(start - 3 * (startSe + endSe));
    expect(out.teacher_sample_ms).toBeGreaterThan(0);
    expect(out.student_sample_ms).toBeGreaterThan(0);
    expect(out.speedup).toBeCloseTo((out.teacher_sample_ms as number) / (out.student_sample_ms as number), 1);
  });

  it('trains until a time limit when given minutes alone', async () => {
    const out = await labJson('--target', 'rings', '--flow', 'nice', ...SMALL, '--minutes', '0.01');
    expect(out.ended).toBe('minutes');
    expect(out.steps).toBeGreaterThan(0);
  });

  it('refuses bad arguments with a message and a non-zero exit', async () => {
    const cases: [string[], RegExp][] = [
      [['--target', 'squares', '--flow', 'maf'], /--target must be one of 8gaussians, checkerboard, .*got "squares"/],
      [['--target', 'u2', '--flow', 'maf'], /u2 is an energy: give --energy u2/],
      [['--target', 'rings', '--flow', 'glow'], /--flow must be one of planar, radial, realnvp, .*flow-matching, got "glow"/],
      [['--target', 'rings'], /give --flow, one of planar/],
      [['--energy', 'u1', '--flow', 'maf'], /MAF cannot train by reverse KL.*Families that can: .*iaf/],
      [['--target', 'rings', '--flow', 'realnvp', '--bins', '4'], /--bins does not apply to realnvp \(it applies to spline-coupling, spline-autoregressive\)/],
      [['--target', 'rings', '--flow', 'realnvp', '--hidden', '0'], /--hidden must be a whole number from 2 to 512, got 0/],
      [['--target', 'rings', '--energy', 'u1', '--flow', 'iaf'], /give one of --target, --energy, not several/],
      [['--target', 'rings', '--flow', 'realnvp', '--rank'], /--rank and --rank-out rank the rows of a table/],
      [['--open', 'nobody'], /no Lab model "nobody" in .*; flowdesk lab --runs lists them/],
      [['--distil', 'nobody'], /no Lab model "nobody"/],
      [['--expression', 'x +', '--flow', 'iaf'], /expected/i],
      [['--target', 'rings', '--flow', 'realnvp', '--frob'], /Unknown option '--frob'/],
    ];
    for (const [args, message] of cases) {
      const r = await lab(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.err, args.join(' ')).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });
});
