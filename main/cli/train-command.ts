// `flowdesk train`: start a run on a folder (or the bundled digits) or resume one, with a
// progress bar, and Ctrl-C that stops after writing a checkpoint.
import { BACKEND_ORDER, type BackendName } from '../engine/backend.ts';
import { announceBackend } from './announce-backend.ts';
import { resolveModelConfig, type ModelConfig, type ModelKind } from '../engine/models/config.ts';
import { presetConfig, type PresetName } from '../engine/models/presets.ts';
import { resolveTrainConfig, type TrainConfig } from '../engine/train/train-config.ts';
import type { TrainEvent, TrainResult } from '../engine/train/train-events.ts';
import { resume, train } from '../engine/train/trainer.ts';
import { choiceOption, numberOption, parse, UsageError } from './options.ts';
import { runArg, RUNS_HELP, runsDirOf } from './runs-folder.ts';
import { formatDuration, ProgressBar } from './progress-bar.ts';

export const trainUsage = `Usage: flowdesk train [FOLDER] [options]
       flowdesk train --resume RUN [--steps S] [--minutes M]   (RUN: a run id or folder)

Trains a flow model on a folder of images (searched recursively). With no FOLDER it trains
on the bundled MNIST digits. Ctrl-C stops after writing a checkpoint; press it twice to quit at once.

Model:
  --model glow|realnvp|nice   model family (default glow)
  --preset small|medium|large sizes for levels/depth/hidden (default small)
  --size N                    image side in pixels (default 16 for the digits, else 32)
  --channels 1|3              grayscale or RGB (default 1 for the digits, else 3)
  --levels L                  multiscale levels (Glow, RealNVP)
  --depth K                   steps per level (Glow), couplings per scale (RealNVP), couplings (NICE)
  --hidden H                  width of the coupling networks
  --coupling affine|additive  Glow coupling type (default affine)
  --permutation invconv|shuffle|reverse  Glow channel mixing (default invconv)
Training:
  --batch B          images per step (default 32)
  --steps S          total steps (default 1000)
  --minutes M        stop after M minutes, whichever comes first
  --lr X             peak learning rate (default 0.001)
  --warmup W         learning-rate warmup steps (default 200)
  --optimizer adam|adamax (default adam)
  --n-bits N         bits per channel, 1-8 (default 8)
  --seed S           seed of weights, batches and noise (default 0)
  --eval-every N     steps between validation and sample grids (default 100)
  --checkpoint-every N  steps between checkpoints (default 100)
${RUNS_HELP}
  --out DIR          the same as --runs (the older name; never an existing run)
  --name NAME        run folder name (default: time and model)
  --backend node-gpu|webgpu|node|wasm|cpu  force a compute backend (or FLOWDESK_BACKEND)
  --resume RUN       continue RUN (its id or folder) from its last whole checkpoint
  --json             print events as JSON lines instead of a progress bar`;

const options = {
  model: { type: 'string' },
  preset: { type: 'string' },
  size: { type: 'string' },
  channels: { type: 'string' },
  levels: { type: 'string' },
  depth: { type: 'string' },
  hidden: { type: 'string' },
  coupling: { type: 'string' },
  permutation: { type: 'string' },
  batch: { type: 'string' },
  steps: { type: 'string' },
  minutes: { type: 'string' },
  lr: { type: 'string' },
  warmup: { type: 'string' },
  optimizer: { type: 'string' },
  'n-bits': { type: 'string' },
  seed: { type: 'string' },
  'eval-every': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  out: { type: 'string' },
  name: { type: 'string' },
  backend: { type: 'string' },
  resume: { type: 'string' },
  json: { type: 'boolean' },
} as const;


function modelFromArgs(values: Record<string, string | boolean | undefined>, bundled: boolean): ModelConfig {
  const kind = choiceOption(values, 'model', ['glow', 'realnvp', 'nice'] as const) ?? ('glow' as ModelKind);
  const preset = choiceOption(values, 'preset', ['small', 'medium', 'large'] as const) ?? ('small' as PresetName);
  const size = numberOption(values, 'size', { integer: true, min: 2, max: 512 }) ?? (bundled ? 16 : 32);
  const channelsRaw = numberOption(values, 'channels', { integer: true, min: 1, max: 3 });
  if (channelsRaw === 2) throw new UsageError('--channels must be 1 or 3, got "2"');
  const channels = (channelsRaw ?? (bundled ? 1 : 3)) as 1 | 3;
  const config = { ...presetConfig(kind, preset, size, channels) } as Record<string, unknown>;
  const levels = numberOption(values, 'levels', { integer: true, min: 1, max: 8 });
  const depth = numberOption(values, 'depth', { integer: true, min: 1, max: 64 });
  const hidden = numberOption(values, 'hidden', { integer: true, min: 1, max: 8192 });
  if (levels !== undefined) {
    if (kind === 'nice') throw new UsageError('--levels does not apply to NICE (it has no multiscale levels)');
    config.levels = levels;
  }
  if (depth !== undefined) config.depth = depth;
  if (hidden !== undefined) config.hidden = hidden;
  const coupling = choiceOption(values, 'coupling', ['affine', 'additive'] as const);
  const permutation = choiceOption(values, 'permutation', ['invconv', 'shuffle', 'reverse'] as const);
  if ((coupling || permutation) && kind !== 'glow') throw new UsageError('--coupling and --permutation apply to Glow only');
  if (coupling) config.coupling = coupling;
  if (permutation) config.permutation = permutation;
  return config as unknown as ModelConfig;
}

function trainFromArgs(values: Record<string, string | boolean | undefined>): TrainConfig {
  const cfg: TrainConfig = {
    batch: numberOption(values, 'batch', { integer: true, min: 1, max: 4096 }),
    steps: numberOption(values, 'steps', { integer: true, min: 1 }),
    minutes: numberOption(values, 'minutes', { min: 0.01 }),
    lr: numberOption(values, 'lr', { min: 1e-8, max: 1 }),
    warmup: numberOption(values, 'warmup', { integer: true, min: 0 }),
    kind: choiceOption(values, 'optimizer', ['adam', 'adamax'] as const),
    nBits: numberOption(values, 'n-bits', { integer: true, min: 1, max: 8 }),
    seed: numberOption(values, 'seed', { integer: true, min: 0, max: 2 ** 31 - 1 }),
    evalEvery: numberOption(values, 'eval-every', { integer: true, min: 1 }),
    checkpointEvery: numberOption(values, 'checkpoint-every', { integer: true, min: 1 }),
  };
  return Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== undefined));
}

function printer(json: boolean) {
  const bar = new ProgressBar();
  return (e: TrainEvent) => {
    if (json) {
      process.stdout.write(`${JSON.stringify(e)}\n`);
      return;
    }
    switch (e.type) {
      case 'start':
        bar.log(`${e.resumed ? 'Resuming' : 'Training'} ${e.runDir} from step ${e.step} to ${e.totalSteps} on ${e.trainImages} images (${e.valImages} for validation${e.skipped ? `, ${e.skipped} files skipped` : ''}), backend ${e.backend}`);
        break;
      case 'step':
        bar.update(e.step, e.totalSteps, `step ${e.step}/${e.totalSteps}  loss ${e.loss.toFixed(3)} bits/dim  ${e.imgPerSec.toFixed(1)} img/s  ETA ${formatDuration(e.eta)}`);
        break;
      case 'eval':
        bar.log(`step ${e.step}: validation ${e.valBpd.toFixed(4)} bits/dim`);
        break;
      case 'warning':
        bar.log(`warning: ${e.message}`);
        break;
      case 'done':
        bar.log(`Stopped at step ${e.step} (${e.reason === 'steps' ? 'all steps done' : e.reason === 'time' ? 'time budget reached' : 'cancelled'}). Run: ${e.runDir}`);
        break;
      default:
        break;
    }
  };
}

export async function trainCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, options, 1, trainUsage);
  if (values.help) {
    log(trainUsage);
    return 0;
  }
  const backend = choiceOption(values, 'backend', BACKEND_ORDER) as BackendName | undefined;
  const json = values.json === true;
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nStopping after the current step and a checkpoint (Ctrl-C again to quit now)...\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    let result: TrainResult;
    if (typeof values.resume === 'string') {
      if (positionals.length > 0) throw new UsageError('--resume takes the run folder; do not also give an image FOLDER');
      await announceBackend(backend);
      result = await resume(runArg(values.resume, values), {
        steps: numberOption(values, 'steps', { integer: true, min: 1 }),
        minutes: numberOption(values, 'minutes', { min: 0.01 }),
        backend,
        onEvent: printer(json),
        signal: controller.signal,
      });
    } else {
      const folder = positionals[0] ?? null;
      const model = resolveModelConfig(modelFromArgs(values, folder === null));
      const trainConfig = trainFromArgs(values);
      resolveTrainConfig(trainConfig);
      await announceBackend(backend);
      result = await train({
        folder,
        model,
        train: trainConfig,
        runsDir: runsDirOf(values),
        name: typeof values.name === 'string' ? values.name : undefined,
        backend,
        onEvent: printer(json),
        signal: controller.signal,
      });
    }
    if (!json) {
      const fmt = (v: number | null) => (v === null ? 'n/a' : v.toFixed(4));
      log(`run: ${result.runDir}`);
      log(`validation bits/dim: ${fmt(result.initialValBpd)} at start -> ${fmt(result.valBpd)} now`);
    }
    return result.reason === 'cancelled' ? 130 : 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
