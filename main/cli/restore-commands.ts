// `flowdesk upscale` and `flowdesk inpaint`: posterior candidates of a small or masked image from a
// trained model (no retraining), written side by side with their mean; PSNR and SSIM with --original.
import { existsSync } from 'node:fs';
import sharp from 'sharp';
import { restoreDefaults, restoreFields, UPSCALE_FACTORS, type RestoreSettings } from '../../common/restore-fields.ts';
import { decodeImageFile, writeImageGrid } from '../engine/data/index.ts';
import type { ProgressListener } from '../engine/progress.ts';
import { checkFactor } from '../engine/restore/box-average.ts';
import { checkTrainedFor } from '../engine/restore/conditional-samples.ts';
import { restoreTaskOf, upscaleTask } from '../engine/restore/observation.ts';
import { checkMask, HOLE_FROM_GREY, maskFromGrey } from '../engine/restore/mask.ts';
import { inpaint, upscale, type Restoration, type Restorer } from '../engine/restore/restore.ts';
import { scoreRestoration, type Quality } from '../engine/restore/scores.ts';
import { announceBackend } from './announce-backend.ts';
import { loadModelArg, WEIGHTS_HELP, WEIGHTS_OPTION } from './model-arg.ts';
import { numberOption, parse, UsageError, type Parsed } from './options.ts';
import { formatDuration, ProgressBar } from './progress-bar.ts';
import { RUNS_HELP } from './runs-folder.ts';
import { givenSettingsChecked, settingOptions, settingsHelp } from './settings-options.ts';

const SAMPLING_HELP = `Candidates are posterior samples given the observed pixels, drawn by Langevin dynamics on the
model's exact log-likelihood (Glow, RealNVP, NICE, TarFlow; not flow matching), or, from a run
trained for the task (--restore-task at training), from its own conditional p(x | y), decoded at
the temperature and kept on the observed pixels (no Langevin steps); -o gets the candidates and
their mean (last) side by side. --original FILE (the full-size image) prints
PSNR and SSIM of each candidate, their mean and the baselines.
${settingsHelp(restoreFields)}
${WEIGHTS_HELP}
${RUNS_HELP}`;

export const upscaleUsage = `Usage: flowdesk upscale RUN small.png [--factor 2|4] [--samples 4] [--original FILE] -o out.png

Super-resolution: small.png is the box average of factor x factor blocks of the image the model
would see (the model's size divided by the factor, e.g. 8 x 8 for a 16 x 16 model at --factor 2),
and every candidate averages back to it exactly. The baseline is bicubic upscaling.
${SAMPLING_HELP}`;

export const inpaintUsage = `Usage: flowdesk inpaint RUN image.png --mask mask.png [--samples 4] [--original FILE] -o out.png

Inpainting: image.png and mask.png are the model's size; white mask pixels (grey ${HOLE_FROM_GREY} and up)
are the hole to fill, black ones are kept exactly. The baselines are a mean-colour fill and a
diffusion fill.
${SAMPLING_HELP}`;

type Log = (line: string) => void;

const COMMON_OPTIONS = { output: { type: 'string', short: 'o' }, original: { type: 'string' }, ...settingOptions(restoreFields), ...WEIGHTS_OPTION } as const;

/** The pixels of an image file that must be `side` x `side`; `role` says what it is for in the message. */
async function imageOfSide(path: string, side: number, channels: 1 | 3, role: string): Promise<Uint8Array> {
  if (!existsSync(path)) throw new UsageError(`${path} does not exist`);
  const meta = await sharp(path).metadata().catch(() => null);
  if (meta?.width !== undefined && meta.height !== undefined && (meta.width !== side || meta.height !== side)) {
    throw new UsageError(`${path} is ${meta.width} x ${meta.height} pixels; ${role} must be ${side} x ${side}`);
  }
  try {
    return await decodeImageFile(path, { size: side, channels });
  } catch (err) {
    throw new UsageError(`${path}: ${(err as Error).message}`);
  }
}

function outputOf(values: Parsed['values'], usage: string): string {
  if (typeof values.output !== 'string') throw new UsageError(`an output file is needed: -o out.png\n\n${usage}`);
  if (!values.output.toLowerCase().endsWith('.png')) throw new UsageError(`-o must end in .png, got ${JSON.stringify(values.output)}`);
  return values.output;
}

function settingsOf(values: Parsed['values']): RestoreSettings {
  return { ...restoreDefaults(), ...givenSettingsChecked(restoreFields, values) } as RestoreSettings;
}

function progressTo(bar: ProgressBar): ProgressListener {
  return (p) => bar.update(p.done, p.total, `${p.done}/${p.total} ${p.message}  ${p.rate.toFixed(1)}/s  ETA ${formatDuration(p.eta)}`);
}

function qualityText(q: Quality): string {
  return `PSNR ${Number.isFinite(q.psnr) ? `${q.psnr.toFixed(2)} dB` : 'inf (identical)'}, SSIM ${q.ssim.toFixed(4)}`;
}

/** Writes the candidates and their mean in a row, says what was written and, given the original, how close each is. */
async function report(r: Restoration, out: string, original: Uint8Array | null, settings: RestoreSettings, restorer: Restorer, log: Log): Promise<void> {
  const { size, channels } = restorer.model.config;
  const row = new Uint8Array(r.candidates.length + r.mean.length);
  row.set(r.candidates);
  row.set(r.mean, r.candidates.length);
  await writeImageGrid(out, row, r.count + 1, size, channels, r.count + 1);
  const how =
    r.method === 'conditional'
      ? `sampled from the model's p(x | y), trained for this task (restoreTask ${restoreTaskOf(restorer.model)})`
      : `${settings.steps} Langevin steps`;
  log(`wrote ${r.count} candidates and their mean (last) to ${out} (${how}, temperature ${settings.temperature}, seed ${settings.seed})`);
  if (r.outOfRange > 0) log(`${r.outOfRange} of ${r.count} candidates had values outside the image range (clipped)`);
  if (!original) return;
  const scores = scoreRestoration(r, original, size, channels);
  scores.candidates.forEach((q, i) => log(`candidate ${i + 1}: ${qualityText(q)}`));
  log(`mean: ${qualityText(scores.mean)}`);
  for (const [name, q] of Object.entries(scores.baselines)) log(`${name} (baseline): ${qualityText(q)}`);
  if (scores.diversity !== null) log(`diversity: ${scores.diversity.toFixed(2)} grey levels (mean pairwise RMS distance)`);
}

/** Loads the run, runs `restore` with a progress bar, reports, and frees the model. */
async function withRestorer(values: Parsed['values'], run: string, restore: (r: Restorer, bar: ProgressBar) => Promise<void>): Promise<void> {
  await announceBackend();
  const { model, json } = await loadModelArg(run, values);
  const bar = new ProgressBar();
  try {
    await restore({ model, nBits: json.nBits }, bar);
  } finally {
    bar.clear();
    model.dispose();
  }
}

export async function upscaleCommand(argv: string[], log: Log): Promise<number> {
  const { values, positionals } = parse(argv, { factor: { type: 'string' }, ...COMMON_OPTIONS }, 2, upscaleUsage);
  if (values.help) return (log(upscaleUsage), 0);
  if (positionals.length < 2) throw new UsageError(`upscale needs a run and a small image\n\n${upscaleUsage}`);
  const out = outputOf(values, upscaleUsage);
  const factor = numberOption(values, 'factor', { integer: true }) ?? UPSCALE_FACTORS[0];
  if (!(UPSCALE_FACTORS as readonly number[]).includes(factor)) throw new UsageError(`--factor must be ${UPSCALE_FACTORS.join(' or ')}, got ${factor}`);
  const settings = settingsOf(values);
  await withRestorer(values, positionals[0], async (restorer, bar) => {
    const { size, channels } = restorer.model.config;
    checkFactor(size, factor);
    if (restoreTaskOf(restorer.model) !== 'none') checkTrainedFor(restorer.model, upscaleTask(factor));
    const small = await imageOfSide(positionals[1], size / factor, channels, `an image this ${size} x ${size} model upscales ${factor} times`);
    const original = typeof values.original === 'string' ? await imageOfSide(values.original, size, channels, 'the original') : null;
    const r = await upscale(restorer, small, factor, settings, { onProgress: progressTo(bar) });
    bar.clear();
    await report(r, out, original, settings, restorer, log);
  });
  return 0;
}

export async function inpaintCommand(argv: string[], log: Log): Promise<number> {
  const { values, positionals } = parse(argv, { mask: { type: 'string' }, ...COMMON_OPTIONS }, 2, inpaintUsage);
  if (values.help) return (log(inpaintUsage), 0);
  if (positionals.length < 2 || typeof values.mask !== 'string') throw new UsageError(`inpaint needs a run, an image and --mask FILE\n\n${inpaintUsage}`);
  const out = outputOf(values, inpaintUsage);
  const settings = settingsOf(values);
  const maskFile = values.mask;
  await withRestorer(values, positionals[0], async (restorer, bar) => {
    const { size, channels } = restorer.model.config;
    if (restoreTaskOf(restorer.model) !== 'none') checkTrainedFor(restorer.model, 'inpaint');
    const pixels = await imageOfSide(positionals[1], size, channels, `an image this ${size} x ${size} model inpaints`);
    const mask = maskFromGrey(await imageOfSide(maskFile, size, 1, `the mask (the image's size)`));
    checkMask(mask, maskFile);
    const original = typeof values.original === 'string' ? await imageOfSide(values.original, size, channels, 'the original') : null;
    const r = await inpaint(restorer, pixels, mask, settings, { onProgress: progressTo(bar) });
    bar.clear();
    await report(r, out, original, settings, restorer, log);
  });
  return 0;
}
