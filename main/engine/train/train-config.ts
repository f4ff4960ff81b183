// Training settings with their defaults in one place; the resolved config is saved in run.json
// so a resumed run continues with exactly the settings it started with.
import { ConfigError } from '../errors.ts';
import { resolveOptimizerConfig, type OptimizerConfig, type ResolvedOptimizerConfig } from './optimizer.ts';

export interface TrainConfig extends OptimizerConfig {
  /** Images per step. Defaults to 32. */
  batch?: number;
  /** Steps to train in all (a resumed run continues to this count). Defaults to 1000. */
  steps?: number;
  /** Wall-clock budget in minutes, or null for none; whichever of steps and minutes comes first ends the run. Defaults to null. */
  minutes?: number | null;
  /** Bits per colour channel the images are reduced to (DESIGN.md). Defaults to 8. */
  nBits?: number;
  /** Seed of weights, batch order, dequantization noise and sample grids. Defaults to 0. */
  seed?: number;
  /** Steps between validation evaluations and sample grids. Defaults to 100. */
  evalEvery?: number;
  /** Steps between checkpoints. Defaults to 100. */
  checkpointEvery?: number;
  /** Checkpoints kept on disk (newest). Defaults to 3. */
  keepCheckpoints?: number;
  /** Validation images used per evaluation (the first ones of the split). Defaults to 500. */
  valImages?: number;
  /** Images used for ActNorm's data-dependent initialisation. Defaults to 128. */
  initImages?: number;
  /** Images in each fixed-seed sample grid. Defaults to 36. */
  sampleCount?: number;
  /** Temperature of the sample grids saved during training. Defaults to 0.7. */
  sampleTemperature?: number;
  /** Consecutive non-finite steps tolerated before the run rolls back to its last checkpoint. Defaults to 10. */
  maxNonFinite?: number;
  /** Rollbacks (each halving the learning rate) tried before training stops with an error. Defaults to 3. */
  maxRollbacks?: number;
  /** Images per forward/backward pass (gradients of the passes are summed); null picks what fits in memory. Defaults to null. */
  microBatch?: number | null;
  /**
   * Threads a step's batch is split across, each with its own wasm instance, gradients summed
   * through shared memory (wasm and cpu backends; tfjs-node threads by itself); 1 keeps one
   * thread. Defaults to null: min(2, the cores available), except for models so small that a
   * share of the batch is too little work to gain from a second thread (see stepThreads).
   */
  threads?: number | null;
}

export type ResolvedTrainConfig = Required<Omit<TrainConfig, keyof OptimizerConfig>> & { optimizer: ResolvedOptimizerConfig };

function check(ok: boolean, field: string, rule: string, value: unknown): void {
  if (!ok) throw new ConfigError('BAD_CONFIG', `${field} must be ${rule}, got ${JSON.stringify(value)}.`);
}

function int(value: number, field: string, min: number, max: number): number {
  check(Number.isInteger(value) && value >= min && value <= max, field, `a whole number from ${min} to ${max}`, value);
  return value;
}

export function resolveTrainConfig(c: TrainConfig = {}): ResolvedTrainConfig {
  const optimizer = resolveOptimizerConfig(c);
  check(['adam', 'adamax'].includes(optimizer.kind), 'optimizer', 'adam or adamax', optimizer.kind);
  check(optimizer.lr > 0 && optimizer.lr <= 1, 'lr', 'a number in (0, 1]', optimizer.lr);
  int(optimizer.warmup, 'warmup', 0, 10_000_000);
  check(optimizer.clipNorm > 0, 'clipNorm', 'positive', optimizer.clipNorm);
  const minutes = c.minutes ?? null;
  check(minutes === null || (typeof minutes === 'number' && minutes > 0), 'minutes', 'a positive number', minutes);
  const temperature = c.sampleTemperature ?? 0.7;
  check(temperature >= 0 && temperature <= 2, 'sampleTemperature', 'from 0 to 2', temperature);
  return {
    batch: int(c.batch ?? 32, 'batch', 1, 4096),
    steps: int(c.steps ?? 1000, 'steps', 1, 100_000_000),
    minutes,
    nBits: int(c.nBits ?? 8, 'nBits', 1, 8),
    seed: int(c.seed ?? 0, 'seed', 0, 2 ** 31 - 1),
    evalEvery: int(c.evalEvery ?? 100, 'evalEvery', 1, 100_000_000),
    checkpointEvery: int(c.checkpointEvery ?? 100, 'checkpointEvery', 1, 100_000_000),
    keepCheckpoints: int(c.keepCheckpoints ?? 3, 'keepCheckpoints', 1, 1000),
    valImages: int(c.valImages ?? 500, 'valImages', 1, 10_000_000),
    initImages: int(c.initImages ?? 128, 'initImages', 1, 100_000),
    sampleCount: int(c.sampleCount ?? 36, 'sampleCount', 1, 1024),
    sampleTemperature: temperature,
    maxNonFinite: int(c.maxNonFinite ?? 10, 'maxNonFinite', 1, 100_000),
    maxRollbacks: int(c.maxRollbacks ?? 3, 'maxRollbacks', 0, 1000),
    microBatch: c.microBatch == null ? null : int(c.microBatch, 'microBatch', 1, 4096),
    threads: c.threads == null ? null : int(c.threads, 'threads', 1, 64),
    optimizer,
  };
}
