// Crash recovery, the hard way: `flowdesk train` is killed with SIGKILL at random moments
// (during a step, an evaluation or a checkpoint write) and resumed each time. After every kill
// each checkpoint on disk loads and gives the bits per dim recorded when it was taken, at most
// one checkpoint interval is lost, and the metrics stay readable; at the end the run's losses
// equal those of a run that was never interrupted. Glow takes 20 kills; Glow with spline
// couplings and TarFlow (with noise augmentation, seeded by step like dequantization) take 6.
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMetrics } from '../../main/engine/runs/metrics.ts';
import { importImageFolder, type ImageSet } from '../../main/engine/data/index.ts';
import { Rng } from '../../main/engine/random.ts';
import { BIN, cliEnv } from '../helpers/cli-env.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';
import { checkCheckpoints as checkRunCheckpoints } from '../helpers/run-checks.ts';

const STEPS = 120;
const EVERY = 5; // checkpoints and evaluations
const GLOW = ['--size', '8', '--channels', '1', '--levels', '1', '--depth', '2', '--hidden', '32'];
/** Each model's options and how many kills it takes: every phase is aimed at at least twice. */
const MODELS: { name: string; model: string[]; kills: number }[] = [
  { name: 'glow', model: GLOW, kills: 20 },
  { name: 'glow-spline', model: [...GLOW, '--coupling', 'spline', '--bins', '4'], kills: 6 },
  {
    name: 'tarflow',
    model: ['--model', 'tarflow', '--size', '8', '--channels', '1', '--patch', '2', '--depth', '2', '--hidden', '16', '--attn-layers', '1', '--head-dim', '8', '--noise', '0.05'],
    kills: 6,
  },
  {
    name: 'flow-matching',
    model: ['--model', 'flow-matching', '--size', '8', '--channels', '1', '--levels', '1', '--depth', '1', '--hidden', '8', '--ode-steps', '2'],
    kills: 6,
  },
];
const TRAIN = ['--batch', '4', '--steps', String(STEPS), '--eval-every', String(EVERY), '--checkpoint-every', String(EVERY), '--warmup', '10'];

type Phase = 'step' | 'evaluation' | 'checkpoint';
interface Launch {
  /** Events printed before the kill (or the exit). */
  events: Record<string, unknown>[];
  killed: boolean;
  code: number | null;
  stderr: string;
}

let images: Awaited<ReturnType<typeof makeImageFolder>>;
let runs: string;
let valSet: ImageSet;

beforeAll(async () => {
  images = await makeImageFolder({ count: 24, size: 8, channels: 1 });
  runs = await mkdtemp(join(tmpdir(), 'flowdesk-crash-'));
  valSet = (await importImageFolder(images.dir, { size: 8, channels: 1, cacheDir: null })).val;
});
afterAll(async () => {
  await images.cleanup();
  await rm(runs, { recursive: true, force: true });
});

/**
 * Runs flowdesk train with `args`; when `killAt` is given it returns true for the event after
 * which the process is to be killed, `delayMs` later, so the kill lands inside the work that
 * follows that event.
 */
function launch(args: string[], killAt?: (e: Record<string, unknown>) => boolean, delayMs = 0): Promise<Launch> {
  const child = spawn(process.execPath, [BIN, 'train', ...args, '--json'], { env: cliEnv(runs, { FLOWDESK_CACHE: join(runs, 'cache') }) });
  const result: Launch = { events: [], killed: false, code: null, stderr: '' };
  let pending = '';
  child.stderr.on('data', (d) => (result.stderr += d));
  child.stdout.on('data', (d) => {
    pending += d;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const e = JSON.parse(line) as Record<string, unknown>;
      result.events.push(e);
      if (!result.killed && killAt?.(e)) {
        result.killed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    }
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ ...result, code })));
}

/** The event after which `phase` starts: a plain step, the step an evaluation follows, or the sample grid a checkpoint follows. */
function trigger(phase: Phase, afterStep: number): (e: Record<string, unknown>) => boolean {
  return (e) => {
    const step = e.step as number;
    if (step < afterStep) return false;
    if (phase === 'step') return e.type === 'step' && step % EVERY !== 0;
    if (phase === 'evaluation') return e.type === 'step' && step % EVERY === 0;
    return e.type === 'sample';
  };
}

/** Every checkpoint loads and its bits per dim equal the evaluation logged at its step (each has one here). */
async function checkCheckpoints(runDir: string): Promise<number[]> {
  const { rows } = await readMetrics(runDir);
  const evalSteps = new Set(rows.filter((r) => r.type === 'eval').map((r) => r.step as number));
  const steps = await checkRunCheckpoints(runDir, valSet);
  for (const step of steps) expect(evalSteps.has(step), `checkpoint ${step} has its evaluation`).toBe(true);
  return steps;
}

describe('a run killed with SIGKILL', () => {
  for (const { name, model, kills } of MODELS) it(`${name}: survives ${kills} kills at random moments and ends as if never interrupted`, async () => {
    const rng = new Rng(2026);
    const runDir = join(runs, `${name}-killed`);
    const aimedAt: Record<Phase, number> = { step: 0, evaluation: 0, checkpoint: 0 };
    const temporaries = () => readdir(join(runDir, 'checkpoints')).then((names) => names.filter((n) => n.startsWith('.step-')).length);
    let midWrite = 0;
    let lastStep = 0;
    let tornLines = 0;
    for (let k = 0; k < kills; k++) {
      const phase = (['step', 'evaluation', 'checkpoint'] as const)[k % 3];
      const args = k === 0 ? [images.dir, ...model, ...TRAIN, '--out', runs, '--name', `${name}-killed`] : ['--resume', runDir];
      const run = await launch(args, trigger(phase, lastStep + 1 + Math.floor(rng.next() * 4)), Math.floor(rng.next() * 4));
      expect(run.killed, `kill ${k}: ${run.stderr}`).toBe(true);
      expect(run.code).toBe(null); // ended by the signal
      aimedAt[phase] += 1;
      // A temporary folder left behind proves the kill landed inside a checkpoint write.
      if ((await temporaries()) > 0) midWrite += 1;
      const seen = Math.max(lastStep, ...run.events.filter((e) => e.type === 'step').map((e) => e.step as number));
      const checkpoints = await checkCheckpoints(runDir);
      const latest = Math.max(...checkpoints);
      // Lost work: steps taken since the newest whole checkpoint, never more than one interval.
      expect(seen - latest, `kill ${k}`).toBeLessThanOrEqual(EVERY);
      lastStep = latest;
      if (k % 7 === 3) {
        // A write torn by the crash: the next start must cut it off, not fail on it.
        await appendFile(join(runDir, 'metrics.jsonl'), '{"type":"train","step":');
        tornLines += 1;
      }
    }
    const finish = await launch(['--resume', runDir]);
    expect(finish.code, finish.stderr).toBe(0);
    expect(finish.events.at(-1)).toMatchObject({ type: 'done', step: STEPS, reason: 'steps' });
    await checkCheckpoints(runDir);
    expect(await temporaries()).toBe(0); // the dead writers' leftovers are cleared

    const clean = await launch([images.dir, ...model, ...TRAIN, '--out', runs, '--name', `${name}-clean`]);
    expect(clean.code, clean.stderr).toBe(0);
    const text = await readFile(join(runDir, 'metrics.jsonl'), 'utf8');
    const rows = text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const losses = (rs: Record<string, unknown>[]) => rs.filter((r) => r.type === 'train').map((r) => [r.step, r.loss]);
    const cleanRows = (await readMetrics(join(runs, `${name}-clean`))).rows;
    expect(losses(rows).map(([s]) => s)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    expect(losses(rows)).toEqual(losses(cleanRows));
    console.log(JSON.stringify({ model: name, kills, aimedAt, midWrite, tornLines, finalStep: STEPS }));
  }, 600_000);
});
