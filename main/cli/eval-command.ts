// `flowdesk eval`: bits per dimension of a trained model over a folder of images.
import { bitsPerDimLabel } from '../../common/bits-per-dim-label.ts';
import { importAllImages } from '../engine/data/index.ts';
import { marginalOverClasses } from '../engine/models/class-marginal.ts';
import { classCountOf } from '../engine/models/flow-model.ts';
import { classMetrics, classScoresOfSet } from '../engine/train/class-evaluate.ts';
import { bitsPerDimOfSet, meanAndStandardError } from '../engine/train/evaluate.ts';
import { throttledProgress } from '../engine/progress.ts';
import { announceBackend } from './announce-backend.ts';
import { loadModelArg, WEIGHTS_HELP, WEIGHTS_OPTION } from './model-arg.ts';
import { numberOption, parse, UsageError } from './options.ts';
import { RUNS_HELP } from './runs-folder.ts';
import { formatDuration, ProgressBar } from './progress-bar.ts';

export const evalUsage = `Usage: flowdesk eval RUN_OR_CHECKPOINT FOLDER [--json] [--limit N] [--seed S] [--weights avg|last|best]

Prints the model's mean bits per dimension over every image in FOLDER (lower is better) and
its standard error over the images, measured with the model's own bit depth and seeded
dequantization noise (flow matching: through its ODE, with fixed Hutchinson probes).
A class-conditional model's bits per dimension are of p(x) = sum over classes of p(x|y) p(y)
(p(y) its training frequencies), comparable with any unconditional model's; where FOLDER's
sub-folders name its classes it also prints the bits given each image's class and the accuracy
of the most likely class (JSON: "bpdGivenClass", "accuracy"; null where no class is known).
  --json      print {"bpd": ..., "standardError": ..., "images": ..., "weights": {...}} instead of text
  --limit N   use only the first N images
  --seed S    seed of the dequantization noise (default 0)
${WEIGHTS_HELP}
${RUNS_HELP}`;

export async function evalCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, limit: { type: 'string' }, seed: { type: 'string' }, ...WEIGHTS_OPTION }, 2, evalUsage);
  if (values.help) {
    log(evalUsage);
    return 0;
  }
  if (positionals.length < 2) throw new UsageError(`eval needs a run (or checkpoint) and a folder of images\n\n${evalUsage}`);
  const limit = numberOption(values, 'limit', { integer: true, min: 1 });
  const seed = numberOption(values, 'seed', { integer: true, min: 0 }) ?? 0;
  await announceBackend();
  const { model, json, weights } = await loadModelArg(positionals[0], values);
  try {
    const { size, channels } = model.config;
    const { set: all, report } = await importAllImages(positionals[1], { size, channels });
    const bar = new ProgressBar();
    const images = Math.min(limit ?? all.count, all.count);
    const progress = throttledProgress((p) => bar.update(p.done, p.total, `${p.done}/${p.total} images  ${p.rate.toFixed(1)} img/s  ETA ${formatDuration(p.eta)}`), images, 'eval');
    const opts = { nBits: json.nBits, limit, seed, onBatch: (done: number) => values.json || progress(done) };
    const conditional = classCountOf(model) > 0;
    const scores = conditional ? await classScoresOfSet(model, all, opts) : null;
    const perImage = scores ? scores.unconditional : await bitsPerDimOfSet(model, all, opts);
    bar.clear();
    const { mean: bpd, standardError } = meanAndStandardError(perImage);
    const error = standardError === null ? '' : ` ± ${standardError.toFixed(4)} (standard error)`;
    const metrics = scores && classMetrics(scores);
    const classFigures = metrics ? { bpdGivenClass: metrics.conditionalBpd, accuracy: metrics.accuracy } : {};
    if (values.json) log(JSON.stringify({ bpd, standardError, images, skipped: report.skipped.length, weights, ...classFigures }));
    else {
      log(`${bpd.toFixed(4)}${error} ${bitsPerDimLabel(model.config)}${conditional ? (marginalOverClasses(model) ? ' (summed over classes)' : " (the model's unconditional branch)") : ''} over ${images} images${report.skipped.length ? ` (${report.skipped.length} files skipped)` : ''}`);
      if (metrics && metrics.conditionalBpd !== null) {
        const accuracy = metrics.accuracy === null ? '' : `; accuracy ${(100 * metrics.accuracy).toFixed(1)}%`;
        log(`${metrics.conditionalBpd.toFixed(4)} given each image's class${accuracy}`);
      }
    }
    return 0;
  } finally {
    model.dispose();
  }
}
