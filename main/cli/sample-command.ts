// `flowdesk sample`: a PNG grid of images drawn from a trained model at a temperature, of a class
// and with classifier-free guidance for a conditional model.
import { GUIDANCE, takesGuidance } from '../../common/class-sampling.ts';
import { modelFields } from '../../common/settings/model-fields.ts';
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

export const sampleUsage = `Usage: flowdesk sample RUN_OR_CHECKPOINT [--n 64] [--temperature 0.7] [--seed 0] [--class NAME|all] [--guidance 1] [--weights avg|last|best] -o grid.png

Draws N images with every level's prior standard deviation scaled by the temperature
(0 gives the most typical image, 1 the model's own spread) and writes them as a square grid.
  --class NAME  a class-conditional model's samples of class NAME
  --class all   a grid with one row per class, N images each
  --guidance W  with --class, a TarFlow or flow-matching model's classifier-free guidance weight:
                u + W (u_class - u) of its unconditional and conditional predictions; 0 samples
                the unconditional model, 1 (the default) the conditional one, above 1 a stronger class
${WEIGHTS_HELP}
${RUNS_HELP}`;

export async function sampleCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { n: { type: 'string' }, temperature: { type: 'string' }, seed: { type: 'string' }, class: { type: 'string' }, guidance: { type: 'string' }, output: { type: 'string', short: 'o' }, ...WEIGHTS_OPTION },
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
  const guidance = numberOption(values, 'guidance', { min: GUIDANCE.min, max: GUIDANCE.max });
  const choice = typeof values.class === 'string' ? values.class : null;
  if (guidance !== undefined && choice === null) throw new UsageError('--guidance needs --class NAME|all: guidance steers the samples towards a class.');
  await announceBackend();
  const { model, json } = await loadModelArg(positionals[0], values);
  try {
    const { size, channels, kind } = model.config;
    if (guidance !== undefined && !takesGuidance(kind)) {
      throw new UsageError(`--guidance: a ${kind} model has no classifier-free guidance (${modelFields.labelDropout.kinds!.join(' and ')} models trained with label dropout do).`);
    }
    const { count, rows, cols } = classOption(model, choice, n);
    const images = await runtimeFor(model).sample(count, temperature, new Rng(seed), rows, guidance);
    await writeImageGrid(values.output, toPixels(images, json.nBits), count, size, channels, cols);
    const guided = guidance === undefined ? '' : `, guidance ${guidance}`;
    log(`wrote ${count} samples (temperature ${temperature}, seed ${seed}${choice === null ? '' : `, class ${choice}`}${guided}) to ${values.output}`);
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
