// `flowdesk sample`: a PNG grid of images drawn from a trained model at a temperature.
import { imagesOutOfRange, toPixels, writeImageGrid } from '../engine/data/index.ts';
import { ConfigError } from '../engine/errors.ts';
import { classChoice, type ClassChoice } from '../engine/explore/class-choice.ts';
import type { FlowModel } from '../engine/models/flow-model.ts';
import { Rng } from '../engine/random.ts';
import { runtimeFor } from '../engine/runtime/runtime-for.ts';
import { announceBackend } from './announce-backend.ts';
import { loadModelArg, WEIGHTS_HELP, WEIGHTS_OPTION } from './model-arg.ts';
import { numberOption, parse, UsageError } from './options.ts';
import { RUNS_HELP } from './runs-folder.ts';

export const sampleUsage = `Usage: flowdesk sample RUN_OR_CHECKPOINT [--n 64] [--temperature 0.7] [--seed 0] [--class NAME|all] [--weights avg|last|best] -o grid.png

Draws N images with every level's prior standard deviation scaled by the temperature
(0 gives the most typical image, 1 the model's own spread) and writes them as a square grid.
  --class NAME  a class-conditional model's samples of class NAME
  --class all   a grid with one row per class, N images each
${WEIGHTS_HELP}
${RUNS_HELP}`;

export async function sampleCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { n: { type: 'string' }, temperature: { type: 'string' }, seed: { type: 'string' }, class: { type: 'string' }, output: { type: 'string', short: 'o' }, ...WEIGHTS_OPTION },
    1,
    sampleUsage,
  );
  if (values.help) {
    log(sampleUsage);
    return 0;
  }
  if (positionals.length < 1) throw new UsageError(`sample needs a run or checkpoint\n\n${sampleUsage}`);
  if (typeof values.output !== 'string') throw new UsageError(`sample needs an output file: -o grid.png\n\n${sampleUsage}`);
  const n = numberOption(values, 'n', { integer: true, min: 1, max: 1024 }) ?? 64;
  const temperature = numberOption(values, 'temperature', { min: 0, max: 2 }) ?? 0.7;
  const seed = numberOption(values, 'seed', { integer: true, min: 0 }) ?? 0;
  await announceBackend();
  const { model, json } = await loadModelArg(positionals[0], values);
  try {
    const { size, channels } = model.config;
    const { count, rows, cols } = classOption(model, typeof values.class === 'string' ? values.class : null, n);
    const images = await runtimeFor(model).sample(count, temperature, new Rng(seed), rows);
    await writeImageGrid(values.output, toPixels(images, json.nBits), count, size, channels, cols);
    log(`wrote ${count} samples (temperature ${temperature}, seed ${seed}${typeof values.class === 'string' ? `, class ${values.class}` : ''}) to ${values.output}`);
    const outOfRange = imagesOutOfRange(images, count);
    if (outOfRange > 0) log(`${outOfRange} of ${count} samples had values outside the image range (clipped)`);
    return 0;
  } finally {
    model.dispose();
  }
}

/** classChoice for `--class`, its errors as usage errors that name the option. */
function classOption(model: FlowModel, choice: string | null, n: number): ClassChoice {
  try {
    return classChoice(model, choice, n);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`--class: ${err.message}`);
    throw err;
  }
}
