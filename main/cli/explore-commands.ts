// `flowdesk interpolate`, `attribute`, `change-class` and `rank`: latent exploration of a trained
// model from the command line, writing PNG grids, animated strips, or one line per image.
import { extname } from 'node:path';
import { writeFileAtomically } from '../engine/fs/atomic-write.ts';
import { decodeImageFile, encodeAnimation, importAllImages, writeImageGrid } from '../engine/data/index.ts';
import { applyDirection, attributeDirection, interpolate, rankByBitsPerDim } from '../engine/explore/explorer.ts';
import { changeClass, classIndex, classNamesOf } from '../engine/explore/change-class.ts';
import { ConfigError } from '../engine/errors.ts';
import * as tf from '../engine/tf.ts';
import { announceBackend } from './announce-backend.ts';
import { loadModelArg, WEIGHTS_HELP, WEIGHTS_OPTION } from './model-arg.ts';
import { numberOption, parse, UsageError } from './options.ts';
import { RUNS_HELP } from './runs-folder.ts';
import { ProgressBar } from './progress-bar.ts';

export const interpolateUsage = `Usage: flowdesk interpolate RUN A B [C D] --steps N [--spherical] [--temperature T] [--weights avg|last|best] -o out.png

Two images: a strip of N frames between them (linear, or spherical with --spherical); -o may
end in .webp or .gif for an animation. Four images: an N x N grid with
z = cos(a)(z1 cos(b) + z2 sin(b)) + sin(a)(z3 cos(b) + z4 sin(b)), a and b from 0 to pi/2,
row by row. End frames are the reconstructions of the inputs; --temperature scales every z.
${WEIGHTS_HELP}
${RUNS_HELP}`;

export const attributeUsage = `Usage: flowdesk attribute RUN --with DIR --without DIR --image IMG [--alphas -2,-1,0,1,2] [--weights avg|last|best] -o out.png

The attribute direction is the mean latent of the images in --with minus that of --without;
writes IMG decoded at z + alpha * direction for each alpha, left to right.
${WEIGHTS_HELP}
${RUNS_HELP}`;

export const changeClassUsage = `Usage: flowdesk change-class RUN IMAGE --from NAME [--to NAME|all] [--temperature T] [--weights avg|last|best] -o out.png

A class-conditional model only: encodes IMAGE under its class --from (every level's latent
standardised by its prior) and decodes the same noise under --to (default all: one image per
class, in the model's class order, left to right); under --from itself it gives IMAGE back.
--temperature (default 1) scales the noise.
${WEIGHTS_HELP}
${RUNS_HELP}`;

export const rankUsage = `Usage: flowdesk rank RUN FOLDER [--json] [--csv FILE] [--weights avg|last|best]

Bits per dimension of every image in FOLDER under the model, highest (least typical) first:
one line per image, {"path": ..., "bpd": ...} with --json; --csv also writes path,bpd rows.
${WEIGHTS_HELP}
${RUNS_HELP}`;

type Log = (line: string) => void;

async function loadImages(paths: string[], size: number, channels: 1 | 3): Promise<Uint8Array> {
  const per = size * size * channels;
  const out = new Uint8Array(paths.length * per);
  for (let i = 0; i < paths.length; i++) {
    try {
      out.set(await decodeImageFile(paths[i], { size, channels }), i * per);
    } catch (err) {
      throw new UsageError(`${paths[i]}: ${(err as Error).message}`);
    }
  }
  return out;
}

function output(values: Record<string, unknown>, usage: string): string {
  if (typeof values.output !== 'string') throw new UsageError(`an output file is needed: -o out.png\n\n${usage}`);
  return values.output;
}

export async function interpolateCommand(argv: string[], log: Log): Promise<number> {
  const { values, positionals } = parse(argv, { steps: { type: 'string' }, spherical: { type: 'boolean' }, temperature: { type: 'string' }, output: { type: 'string', short: 'o' }, ...WEIGHTS_OPTION }, 5, interpolateUsage);
  if (values.help) return (log(interpolateUsage), 0);
  const images = positionals.slice(1);
  if (positionals.length < 1 || (images.length !== 2 && images.length !== 4)) throw new UsageError(`interpolate needs a run and two or four images\n\n${interpolateUsage}`);
  const out = output(values, interpolateUsage);
  const steps = numberOption(values, 'steps', { integer: true, min: 1, max: 64 }) ?? 8;
  const temperature = numberOption(values, 'temperature', { min: 0, max: 2 }) ?? 1;
  const ext = extname(out).toLowerCase();
  if (!['.png', '.webp', '.gif'].includes(ext)) throw new UsageError(`-o must end in .png, .webp or .gif, got ${JSON.stringify(out)}`);
  if (ext !== '.png' && images.length === 4) throw new UsageError('a four-image grid is a still image: use -o grid.png');
  await announceBackend();
  const { model, json } = await loadModelArg(positionals[0], values);
  try {
    const { size, channels } = model.config;
    const pixels = await loadImages(images, size, channels);
    const frames = await interpolate({ model, nBits: json.nBits }, pixels, images.length as 2 | 4, { steps, spherical: values.spherical === true, temperature });
    const count = images.length === 2 ? steps : steps * steps;
    if (ext === '.png') await writeImageGrid(out, frames, count, size, channels, steps);
    else await writeFileAtomically(out, await encodeAnimation(frames, steps, size, channels, ext === '.webp' ? 'webp' : 'gif'));
    log(`wrote ${images.length === 2 ? `a strip of ${steps}` : `a ${steps}x${steps} grid of`} frames to ${out}`);
    return 0;
  } finally {
    model.dispose();
  }
}

/** `--alphas -2,-1,0` reads as intended: a value starting with a minus sign is still a value. */
function joinNegativeValues(argv: string[], option: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === option && /^-\d/.test(argv[i + 1] ?? '')) out.push(`${option}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

export async function attributeCommand(argv: string[], log: Log): Promise<number> {
  const { values, positionals } = parse(joinNegativeValues(argv, '--alphas'), { with: { type: 'string' }, without: { type: 'string' }, image: { type: 'string' }, alphas: { type: 'string' }, output: { type: 'string', short: 'o' }, ...WEIGHTS_OPTION }, 1, attributeUsage);
  if (values.help) return (log(attributeUsage), 0);
  if (positionals.length < 1 || typeof values.with !== 'string' || typeof values.without !== 'string' || typeof values.image !== 'string') {
    throw new UsageError(`attribute needs a run, --with DIR, --without DIR and --image IMG\n\n${attributeUsage}`);
  }
  const out = output(values, attributeUsage);
  const alphas = (typeof values.alphas === 'string' ? values.alphas : '-2,-1,0,1,2').split(',').map((a) => Number(a.trim()));
  if (alphas.length === 0 || alphas.length > 32 || alphas.some((a) => !Number.isFinite(a) || Math.abs(a) > 10)) {
    throw new UsageError(`--alphas must be up to 32 comma-separated numbers from -10 to 10, got ${JSON.stringify(values.alphas)}`);
  }
  await announceBackend();
  const { model, json } = await loadModelArg(positionals[0], values);
  try {
    const { size, channels } = model.config;
    const explorer = { model, nBits: json.nBits };
    const withSet = (await importAllImages(values.with, { size, channels })).set;
    const withoutSet = (await importAllImages(values.without, { size, channels })).set;
    const direction = await attributeDirection(explorer, withSet, withoutSet);
    const frames = await applyDirection(explorer, await loadImages([values.image], size, channels), direction, alphas);
    tf.dispose(direction);
    await writeImageGrid(out, frames, alphas.length, size, channels, alphas.length);
    log(`direction from ${withSet.count} images with and ${withoutSet.count} without; wrote alphas ${alphas.join(', ')} to ${out}`);
    return 0;
  } finally {
    model.dispose();
  }
}

export async function changeClassCommand(argv: string[], log: Log): Promise<number> {
  const { values, positionals } = parse(argv, { from: { type: 'string' }, to: { type: 'string' }, temperature: { type: 'string' }, output: { type: 'string', short: 'o' }, ...WEIGHTS_OPTION }, 2, changeClassUsage);
  if (values.help) return (log(changeClassUsage), 0);
  if (positionals.length < 2 || typeof values.from !== 'string') throw new UsageError(`change-class needs a run, an image and --from NAME\n\n${changeClassUsage}`);
  const out = output(values, changeClassUsage);
  const temperature = numberOption(values, 'temperature', { min: 0, max: 2 }) ?? 1;
  await announceBackend();
  const { model, json } = await loadModelArg(positionals[0], values);
  try {
    const { size, channels } = model.config;
    let from: number;
    let to: number[];
    try {
      const names = classNamesOf(model);
      from = classIndex(model, values.from);
      to = typeof values.to !== 'string' || values.to === 'all' ? names.map((_, i) => i) : [classIndex(model, values.to)];
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    const frames = changeClass({ model, nBits: json.nBits }, await loadImages([positionals[1]], size, channels), from, to, temperature);
    await writeImageGrid(out, frames, to.length, size, channels, to.length);
    log(`wrote ${positionals[1]} as class ${to.map((i) => classNamesOf(model)[i]).join(', ')} to ${out}`);
    return 0;
  } finally {
    model.dispose();
  }
}

export async function rankCommand(argv: string[], log: Log): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, csv: { type: 'string' }, ...WEIGHTS_OPTION }, 2, rankUsage);
  if (values.help) return (log(rankUsage), 0);
  if (positionals.length < 2) throw new UsageError(`rank needs a run and a folder\n\n${rankUsage}`);
  await announceBackend();
  const { model, json } = await loadModelArg(positionals[0], values);
  try {
    const { size, channels } = model.config;
    const { set } = await importAllImages(positionals[1], { size, channels });
    const bar = new ProgressBar();
    const ranked = await rankByBitsPerDim({ model, nBits: json.nBits }, set, (done, total) => bar.update(done, total, `${done}/${total} images`));
    bar.clear();
    for (const r of ranked) log(values.json ? JSON.stringify({ path: r.path, bpd: r.bpd }) : `${r.bpd.toFixed(4)}  ${r.path}`);
    if (typeof values.csv === 'string') {
      const csv = ['path,bpd', ...ranked.map((r) => `"${r.path.replace(/"/g, '""')}",${r.bpd}`)].join('\n');
      await writeFileAtomically(values.csv, `${csv}\n`);
    }
    return 0;
  } finally {
    model.dispose();
  }
}
