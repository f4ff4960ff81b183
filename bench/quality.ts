// `npm run bench -- --quality`: test bits per dim after training, FlowDesk beside
// bench/pytorch_glow.py (the same architecture and settings), one JSON line per run and a
// summary per task with the mean and standard error over seeds. Tasks: MNIST 28px Glow L2 K4
// h64 for 1,000 steps, and the CIFAR-10 subset at L3 K4 h128 for 6 minutes and for 800 steps;
// batch 32, lr 1e-3, warmup 200. FlowDesk trains as the app does (its own validation split,
// evaluations and checkpoints count in its time) on the backend `auto` picks.
// --seeds=0,1,2 (default), --tasks=mnist,cifar-6min,cifar-800 (default: all), --no-pytorch,
// --datasets=DIR (default ../shared/datasets: {mnist,cifar10}/{train,test} image folders).
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainAndScore } from './train-and-score.ts';
import { findTorchPython } from './torch-python.ts';
import { resolveOptimizerConfig } from '../main/engine/train/optimizer.ts';

interface Task {
  name: string;
  data: 'mnist' | 'cifar10';
  size: number;
  channels: 1 | 3;
  levels: number;
  depth: number;
  hidden: number;
  steps: number;
  minutes: number | null;
}

/** A step count no time-limited task reaches, so its minutes end it. */
const UNTIL_TIME_ENDS = 1_000_000;
const TASKS: Task[] = [
  { name: 'mnist', data: 'mnist', size: 28, channels: 1, levels: 2, depth: 4, hidden: 64, steps: 1000, minutes: null },
  { name: 'cifar-6min', data: 'cifar10', size: 32, channels: 3, levels: 3, depth: 4, hidden: 128, steps: UNTIL_TIME_ENDS, minutes: 6 },
  { name: 'cifar-800', data: 'cifar10', size: 32, channels: 3, levels: 3, depth: 4, hidden: 128, steps: 800, minutes: null },
];
const SETTINGS = { batch: 32, lr: 1e-3, warmup: 200 };

type Emit = (obj: object) => void;
interface Result {
  bpd: number;
  steps: number;
  seconds: number;
  /** Which of the run's weights were scored (FlowDesk: the loader's default, the averaged ones). */
  weights?: string;
}

function option(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
}

/** FlowDesk's run of `task`, scored as `flowdesk eval RUN` scores it (train-and-score.ts). */
function flowdesk(task: Task, seed: number, datasets: string, work: string): Promise<Result> {
  const model = { kind: 'glow', size: task.size, channels: task.channels, levels: task.levels, depth: task.depth, hidden: task.hidden } as const;
  return trainAndScore(model, { ...SETTINGS, steps: task.steps, minutes: task.minutes, seed }, join(datasets, task.data, 'train'), join(datasets, task.data, 'test'), work);
}

function pytorch(python: string, task: Task, seed: number, datasets: string): Result | { reason: string } {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'pytorch_glow.py');
  const flags = { size: task.size, channels: task.channels, levels: task.levels, depth: task.depth, hidden: task.hidden, batch: SETTINGS.batch, steps: task.steps, warmup: SETTINGS.warmup, seed, lr: SETTINGS.lr, 'clip-norm': resolveOptimizerConfig({}).clipNorm };
  const argv = [script, 'train', join(datasets, task.data, 'train'), '--eval', join(datasets, task.data, 'test')];
  for (const [k, v] of Object.entries(flags)) argv.push(`--${k}`, String(v));
  if (task.minutes !== null) argv.push('--minutes', String(task.minutes));
  const run = spawnSync(python, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const last = run.stdout?.trim().split('\n').pop();
  if (run.status !== 0 || !last) return { reason: `pytorch_glow.py failed: ${(run.stderr || String(run.error ?? run.status)).trim().split('\n').pop()}` };
  const done = JSON.parse(last) as { eval_bpd: number; steps: number; seconds: number };
  return { bpd: done.eval_bpd, steps: done.steps, seconds: done.seconds };
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;

/** Mean and standard error (sample standard deviation / sqrt(n); null for one value); null for none. */
function summary(values: number[]): { mean: number; se: number | null; n: number } | null {
  const n = values.length;
  if (n === 0) return null;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const se = n < 2 ? null : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) / n);
  return { mean: round(mean), se: se === null ? null : round(se), n };
}

export async function qualityBench(args: string[], emit: Emit): Promise<void> {
  const seeds = (option(args, 'seeds') ?? '0,1,2').split(',').map(Number);
  const names = option(args, 'tasks')?.split(',') ?? TASKS.map((t) => t.name);
  const unknown = names.filter((n) => !TASKS.some((t) => t.name === n));
  if (unknown.length > 0) throw new Error(`--tasks: unknown task ${unknown.join(', ')}; the tasks are ${TASKS.map((t) => t.name).join(', ')}.`);
  const datasets = resolve(option(args, 'datasets') ?? join(dirname(fileURLToPath(import.meta.url)), '../../shared/datasets'));
  const torch = args.includes('--no-pytorch') ? { reason: 'skipped with --no-pytorch' } : findTorchPython();
  for (const task of TASKS.filter((t) => names.includes(t.name))) {
    const ours: number[] = [];
    const theirs: number[] = [];
    for (const seed of seeds) {
      const work = await mkdtemp(join(tmpdir(), 'flowdesk-quality-'));
      try {
        const result = await flowdesk(task, seed, datasets, work);
        ours.push(result.bpd);
        emit({ bench: 'quality', task: task.name, impl: 'flowdesk', seed, test_bpd: round(result.bpd), steps: result.steps, seconds: Math.round(result.seconds) });
      } finally {
        await rm(work, { recursive: true, force: true });
      }
      // Right after FlowDesk's run, so both meet the same load on a shared machine.
      const result = 'python' in torch ? pytorch(torch.python, task, seed, datasets) : torch;
      if ('reason' in result) {
        emit({ bench: 'quality', task: task.name, impl: 'pytorch', seed, skipped: result.reason });
        continue;
      }
      theirs.push(result.bpd);
      emit({ bench: 'quality', task: task.name, impl: 'pytorch', seed, test_bpd: round(result.bpd), steps: result.steps, seconds: Math.round(result.seconds) });
    }
    emit({ bench: 'quality-summary', task: task.name, seeds, flowdesk: summary(ours), pytorch: summary(theirs) });
  }
}
