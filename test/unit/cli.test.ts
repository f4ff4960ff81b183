// The command line as a person uses it: help on every command, clear one-line errors with a
// non-zero exit for bad arguments (never a stack trace), train -> eval -> sample end to end, and
// one runs folder shared by every command (and the app), with runs named by id.
// Every spawned command gets a throwaway home (test/helpers/cli-env.ts).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BIN, cliEnv, defaultRunsIn } from '../helpers/cli-env.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

/** A spawned command's environment: the throwaway home and cache, and `extra`. */
function commandEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return cliEnv(home, { FLOWDESK_CACHE: cache, ...extra });
}

function flowdeskWith(opts: { env?: Record<string, string>; cwd?: string }, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: opts.cwd, env: commandEnv(opts.env) });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function flowdesk(...args: string[]) {
  return flowdeskWith({}, ...args);
}

/** flowdesk(...args) without waiting for it, so that a test's independent commands start together and share the cores. */
function flowdeskLater(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: commandEnv() });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

let home: string;
let cache: string;
let runs: string;
let images: Awaited<ReturnType<typeof makeImageFolder>>;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'flowdesk-cli-home-'));
  cache = await mkdtemp(join(tmpdir(), 'flowdesk-cli-cache-'));
  runs = await mkdtemp(join(tmpdir(), 'flowdesk-cli-runs-'));
  images = await makeImageFolder({ count: 24, size: 8, channels: 1 });
});
afterAll(async () => {
  await images.cleanup();
  await rm(cache, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
  await rm(runs, { recursive: true, force: true });
});

describe('flowdesk CLI', () => {
  it('prints help for every command', async () => {
    const commands = ['train', 'runs', 'eval', 'sample', 'interpolate', 'attribute', 'change-class', 'rank', 'export', 'import', 'serve', 'lab'];
    const [all, ...each] = await Promise.all([flowdeskLater('--help'), ...commands.map((cmd) => flowdeskLater(cmd, '--help'))]);
    commands.forEach((cmd, i) => {
      expect(each[i].code, each[i].err).toBe(0);
      expect(each[i].out).toMatch(new RegExp(`^Usage: flowdesk ${cmd}`));
      expect(each[i].out).toContain('--runs DIR');
    });
    expect(all.out).toMatch(/Commands:/);
  });

  it('refuses bad arguments with one clear line and a non-zero exit', async () => {
    const cases: [string[], RegExp][] = [
      [['train', '--lr', 'fast'], /--lr must be a number/],
      [['train', '--model', 'vae'], /--model must be one of glow, realnvp, nice, tarflow/],
      [['train', '--size', '15'], /size 15 must be divisible by 2\^levels/],
      [['train', '--channels', '2'], /--channels must be one of 1, 3, got 2/],
      [['train', '--bogus'], /Unknown option '--bogus'/],
      [['train', join(runs, 'missing-folder')], /does not exist/],
      [['eval', join(runs, 'nope'), images.dir], /nope does not exist; give a run \(its folder or id\)/],
      [['serve', '--runs', '/proc/self/runs'], /runs folder \/proc\/self\/runs is under \/proc, a virtual file system/],
      [['runs', '--runs', '/sys/x'], /under \/sys, a virtual file system/],
      [['sample', runs], /sample needs an output file/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ];
    const results = await Promise.all(cases.map(([args]) => flowdeskLater(...args)));
    cases.forEach(([args, message], i) => {
      expect(results[i].code, args.join(' ')).not.toBe(0);
      expect(results[i].err).toMatch(message);
      expect(results[i].err).not.toMatch(/\n\s+at /); // no stack trace
    });
  });

  it('trains, evaluates and samples a run', () => {
    const t = flowdesk('train', images.dir, '--size', '8', '--channels', '1', '--levels', '2', '--depth', '1', '--hidden', '8', '--batch', '8', '--steps', '6', '--eval-every', '3', '--out', runs, '--name', 'cli');
    expect(t.code, t.err).toBe(0);
    expect(t.err).toMatch(/^backend: (onnx|wasm)/m);
    expect(t.out).toMatch(/validation bits\/dim: [\d.]+ at start -> [\d.]+ now/);
    const e = flowdesk('eval', join(runs, 'cli'), images.dir, '--json');
    expect(e.code, e.err).toBe(0);
    const result = JSON.parse(e.out);
    expect(result.images).toBe(24);
    expect(result.bpd).toBeGreaterThan(0);
    expect(result.bpd).toBeLessThan(12);
    const out = join(runs, 'grid.png');
    const s = flowdesk('sample', join(runs, 'cli'), '--n', '4', '--temperature', '0.5', '-o', out);
    expect(s.code, s.err).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  it('trains with --coupling spline (bins and tail bound too), and samples from the run', async () => {
    const t = flowdesk('train', images.dir, '--model', 'realnvp', '--coupling', 'spline', '--bins', '4', '--tail-bound', '2', '--size', '8', '--channels', '1', '--levels', '2', '--depth', '1', '--hidden', '8', '--batch', '8', '--steps', '4', '--eval-every', '4', '--out', runs, '--name', 'spline');
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/validation bits\/dim: [\d.]+ at start -> [\d.]+ now/);
    const run = JSON.parse(await readFile(join(runs, 'spline', 'run.json'), 'utf8'));
    expect(run.model).toMatchObject({ kind: 'realnvp', coupling: 'spline', bins: 4, tailBound: 2 });
    const s = flowdesk('sample', join(runs, 'spline'), '--n', '4', '-o', join(runs, 'spline-grid.png'));
    expect(s.code, s.err).toBe(0);
    expect(existsSync(join(runs, 'spline-grid.png'))).toBe(true);
  });

  it('names each skipped file with its reason, reports the phases, and keeps the import report in the run folder', async () => {
    const messy = await makeImageFolder({ count: 12, size: 8, channels: 1, bad: ['zero-byte', 'truncated'], seed: 5 });
    try {
      const small = ['--size', '8', '--channels', '1', '--levels', '1', '--depth', '1', '--hidden', '8', '--batch', '4', '--steps', '2', '--out', runs];
      const t = flowdesk('train', messy.dir, ...small, '--name', 'messy');
      expect(t.code, t.err).toBe(0);
      for (const path of Object.values(messy.bad)) expect(t.err).toContain(`skipped ${path}: `);
      const report = JSON.parse(await readFile(join(runs, 'messy', 'import-report.json'), 'utf8'));
      expect(report).toMatchObject({ format: 'flowdesk.import-report', version: 1, folder: messy.dir, used: 12 });
      expect(report.skipped.map((s: { path: string }) => s.path).sort()).toEqual(Object.values(messy.bad).sort());
      expect(report.skipped.every((s: { reason: string }) => s.reason.length > 0)).toBe(true);
      const j = flowdesk('train', messy.dir, ...small, '--name', 'messy-json', '--json');
      expect(j.code, j.err).toBe(0);
      const events = j.out.trim().split('\n').map((l) => JSON.parse(l));
      const order = events.filter((e) => e.type === 'phase' || e.type === 'start' || e.type === 'step').map((e) => (e.type === 'phase' ? e.phase : e.type));
      expect(order.slice(0, 6)).toEqual(['loading-images', 'start', 'initialising', 'preparing-backend', 'first-step', 'step']);
    } finally {
      await messy.cleanup();
    }
  });

  it('stops on Ctrl-C after writing a checkpoint, and resumes from it', async () => {
    const child = spawn(process.execPath, [BIN, 'train', images.dir, '--size', '8', '--channels', '1', '--levels', '1', '--depth', '1', '--hidden', '8', '--batch', '4', '--steps', '100000', '--checkpoint-every', '100000', '--out', runs, '--name', 'interrupted', '--json'], {
      env: commandEnv(),
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await vi.waitFor(() => expect(out).toMatch(/"type":"step","step":5,/), { timeout: 60_000, interval: 100 });
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    const done = out.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.type === 'done');
    expect(done).toMatchObject({ reason: 'cancelled' });
    const checkpoints = await readdir(join(runs, 'interrupted', 'checkpoints'));
    expect(checkpoints).toContain(`step-${done.step}`);
    const r = flowdesk('train', '--resume', join(runs, 'interrupted'), '--steps', String(done.step + 2));
    expect(r.code, r.err).toBe(0);
    expect(r.err + r.out).toMatch(new RegExp(`Resuming .* from step ${done.step} to ${done.step + 2}`));
  });

  it('refuses a second writer on a run that is training, naming the process that holds it', async () => {
    const child = spawn(process.execPath, [BIN, 'train', images.dir, '--size', '8', '--channels', '1', '--levels', '1', '--depth', '1', '--hidden', '8', '--batch', '4', '--steps', '100000', '--checkpoint-every', '2', '--out', runs, '--name', 'busy', '--json'], {
      env: commandEnv(),
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    try {
      await vi.waitFor(() => expect(out).toMatch(/"type":"checkpoint","step":2,/), { timeout: 60_000, interval: 100 });
      const r = flowdesk('train', '--resume', join(runs, 'busy'));
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(new RegExp(`run .*busy is in use by process ${child.pid} since .*; stop it first`));
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(child.exitCode).toBe(null); // the first writer carries on
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('interpolates, moves along an attribute, ranks, exports and imports', async () => {
    const run = join(runs, 'cli');
    const [a, b, c, d] = images.good;
    const strip = join(runs, 'strip.png');
    let r = flowdesk('interpolate', run, a, b, '--steps', '5', '--spherical', '-o', strip);
    expect(r.code, r.err).toBe(0);
    expect(await sharp(strip).metadata()).toMatchObject({ width: 5 * 8 + 6 * 2, height: 8 + 2 * 2 });
    r = flowdesk('interpolate', run, a, b, c, d, '--steps', '3', '-o', join(runs, 'grid.png'));
    expect(r.code, r.err).toBe(0);
    expect(await sharp(join(runs, 'grid.png')).metadata()).toMatchObject({ width: 3 * 8 + 4 * 2, height: 3 * 8 + 4 * 2 });
    r = flowdesk('interpolate', run, a, b, '--steps', '4', '-o', join(runs, 'strip.gif'));
    expect(r.code, r.err).toBe(0);
    expect((await sharp(join(runs, 'strip.gif')).metadata()).pages).toBe(6);
    expect(flowdesk('interpolate', run, a, b, c, '-o', strip).err).toMatch(/two or four images/);

    r = flowdesk('attribute', run, '--with', images.dir, '--without', images.dir, '--image', a, '--alphas', '-1,0,1', '-o', join(runs, 'attr.png'));
    expect(r.code, r.err).toBe(0);
    expect(flowdesk('attribute', run, '--with', images.dir, '--without', images.dir, '--image', a, '--alphas', 'x', '-o', 'o.png').err).toMatch(/--alphas must be/);

    r = flowdesk('rank', run, images.dir, '--json', '--csv', join(runs, 'rank.csv'));
    expect(r.code, r.err).toBe(0);
    const rows = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(24);
    for (let i = 1; i < rows.length; i++) expect(rows[i - 1].bpd).toBeGreaterThanOrEqual(rows[i].bpd);
    expect(Object.keys(rows[0])).toEqual(['path', 'bpd']);
    expect((await readFile(join(runs, 'rank.csv'), 'utf8')).split('\n')[0]).toBe('path,bpd');

    const exported = join(runs, 'exported');
    expect(flowdesk('export', run, '-o', exported).code).toBe(0);
    r = flowdesk('import', exported, '--out', runs, '--name', 'back');
    expect(r.code, r.err).toBe(0);
    const before = JSON.parse(flowdesk('eval', run, images.dir, '--json').out).bpd;
    const after = JSON.parse(flowdesk('eval', join(runs, 'back'), images.dir, '--json').out).bpd;
    expect(after).toBe(before);
  });

  it('keeps runs in one per-user folder by default, lists them, and takes a run id wherever it takes a run', async () => {
    const defaultRuns = defaultRunsIn(home);
    const t = flowdesk('train', images.dir, '--size', '8', '--channels', '1', '--levels', '1', '--depth', '1', '--hidden', '8', '--batch', '8', '--steps', '2', '--eval-every', '2', '--name', 'by-default');
    expect(t.code, t.err).toBe(0);
    const runDir = join(defaultRuns, 'by-default');
    expect(t.out).toContain(`run: ${runDir}`);
    expect(existsSync(join(runDir, 'run.json'))).toBe(true);

    let r = flowdesk('runs', '--json');
    expect(r.code, r.err).toBe(0);
    const [row] = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(row).toMatchObject({ id: 'by-default', model: 'glow 8x8x1', step: 2, steps: 2, status: 'finished', dir: runDir });
    expect(row.lastValBpd).toBeGreaterThan(0);
    r = flowdesk('runs');
    expect(r.out).toContain(`1 run in ${defaultRuns}`);
    expect(r.out).toMatch(/ID +CREATED \(UTC\) +MODEL +STEP +VAL BITS\/DIM +STATUS\nby-default +\S+ \S+ +glow 8x8x1 +2\/2 +[\d.]+ +finished/);

    const grid = join(home, 'grid.png');
    r = flowdesk('sample', 'by-default', '--n', '4', '-o', grid);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(grid)).toBe(true);
    r = flowdesk('train', '--resume', 'by-default', '--steps', '3');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`Resuming ${runDir} from step 2 to 3`);
    expect(JSON.parse(flowdesk('runs', '--json').out)).toMatchObject({ id: 'by-default', step: 3 });

    // FLOWDESK_RUNS_DIR and --runs move the folder for every command.
    expect(flowdeskWith({ env: { FLOWDESK_RUNS_DIR: runs } }, 'runs').out).toContain(`in ${runs}`);
    expect(flowdesk('runs', '--runs', runs).out).toContain(`in ${runs}`);
    expect(flowdesk('sample', 'by-default', '--runs', runs, '-o', grid).err).toMatch(/by-default does not exist/);
  });

  it('refuses train --out EXISTING_RUN instead of nesting a run inside it', async () => {
    const existing = join(runs, 'cli');
    const before = (await readdir(existing)).sort();
    const r = flowdesk('train', images.dir, '--size', '8', '--channels', '1', '--levels', '1', '--depth', '1', '--hidden', '8', '--steps', '1', '--out', existing);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(`${existing} is a run, not a folder of runs`);
    expect((await readdir(existing)).sort()).toEqual(before);
  });

  it('refuses to export into a run or the runs folder', async () => {
    for (const target of [join(runs, 'cli'), join(runs, 'cli', 'checkpoints', 'step-99999999'), join(runs, 'elsewhere')]) {
      const r = flowdesk('export', 'cli', '--runs', runs, '-o', target);
      expect(r.code, target).not.toBe(0);
      expect(r.err).toMatch(/Cannot export into .*: it is inside the (runs folder|run )/);
    }
    expect(existsSync(join(runs, 'cli', 'model.json'))).toBe(false);
    expect(existsSync(join(runs, 'elsewhere'))).toBe(false);
  });

  it('points once at runs an earlier version left in ./runs, with the command to move them', async () => {
    const project = join(home, 'project');
    await mkdir(join(project, 'runs', 'old'), { recursive: true });
    await writeFile(join(project, 'runs', 'old', 'run.json'), '{}');
    const r = flowdeskWith({ cwd: project }, 'runs');
    expect(r.code, r.err).toBe(0);
    const notices = r.err.match(/holds runs from an earlier FlowDesk/g) ?? [];
    expect(notices).toHaveLength(1);
    expect(r.err).toContain(`mv ./runs/* '${defaultRunsIn(home)}'/`);
    // A ./runs without run folders (some other project's) is not mentioned.
    await rm(join(project, 'runs', 'old', 'run.json'));
    expect(flowdeskWith({ cwd: project }, 'runs').err).toBe('');
  });

  it('names the file and the field when a file it reads back is damaged', async () => {
    const damaged = async (name: string, edit: (dir: string) => Promise<void>) => {
      const dir = join(runs, 'damaged', name);
      await cp(join(runs, 'cli'), dir, { recursive: true });
      await rm(join(dir, '.lock'), { force: true });
      await edit(dir);
      return dir;
    };
    const editJson = async (path: string, change: (v: Record<string, unknown>) => void) => {
      const v = JSON.parse(await readFile(path, 'utf8'));
      change(v);
      await writeFile(path, JSON.stringify(v));
    };
    const newestCheckpoint = async (dir: string) => {
      const steps = (await readdir(join(dir, 'checkpoints'))).map((n) => Number(n.slice('step-'.length))).sort((a, b) => a - b);
      return join(dir, 'checkpoints', `step-${steps.at(-1)}`);
    };

    const noOptimizer = await damaged('run-json', (d) => editJson(join(d, 'run.json'), (v) => delete (v.train as Record<string, unknown>).optimizer));
    let r = flowdesk('train', '--resume', noOptimizer);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(`${join(noOptimizer, 'run.json')}: "train.optimizer" is wrong`);
    expect(r.err).not.toMatch(/Cannot read properties/);

    await damaged('status', (d) => writeFile(join(d, 'status.json'), '{"status":"sleeping"}'));
    r = flowdesk('runs', '--runs', join(runs, 'damaged'));
    expect(r.err).toMatch(/status\.json: "status" is wrong/);

    const badState = await damaged('state', async (d) => editJson(join(await newestCheckpoint(d), 'state.json'), (v) => (v.step = 'six')));
    r = flowdesk('sample', badState, '-o', join(home, 'x.png'));
    expect(r.err).toMatch(/state\.json: "step" is wrong/);

    const badModel = await damaged('model', async (d) => editJson(join(await newestCheckpoint(d), 'model.json'), (v) => (v.nBits = 12)));
    r = flowdesk('eval', await newestCheckpoint(badModel), images.dir);
    expect(r.err).toMatch(/model\.json: "nBits" must be/);

    const badMetrics = await damaged('metrics', (d) => writeFile(join(d, 'metrics.jsonl'), '{"type":"train","step":1,"loss":2}\n{"type":"train","step":"two"}\n', { flag: 'a' }));
    r = flowdesk('train', '--resume', badMetrics, '--steps', '7');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/metrics\.jsonl line \d+: "step" is wrong .*1 unreadable line\(s\) dropped/);
  });
});
