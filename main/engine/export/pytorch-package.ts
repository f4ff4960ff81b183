// `flowdesk export RUN --pytorch`: a self-contained Python package that continues a run under
// torchrun with DistributedDataParallel. It holds the model code (pytorch/*.py, copied out), the
// run as a run folder (run.json, metrics up to the newest checkpoint, that checkpoint whole, the
// best weights), and the images exactly as FlowDesk decoded and split them (data/*.npy). Its
// model.json files carry every model setting filled (model-fields.ts owns the defaults; the Python
// reads no default of its own), and its Python continues every model kind (MODEL_KINDS).
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { z } from 'zod';
import { latestCheckpoint, readCheckpoint } from '../checkpoint/checkpoint-store.ts';
import { ioCause } from '../checkpoint/io-cause.ts';
import { importImageFolder, type ImageSet } from '../data/index.ts';
import { CheckpointError } from '../errors.ts';
import { writeFileAtomically } from '../fs/atomic-write.ts';
import { readCheckedFile } from '../fs/checked-read.ts';
import { parseModelJson } from '../models/model-io.ts';
import { defaultImageFolder } from '../resources.ts';
import { readRunJson, writeRunJson } from '../runs/run-json.ts';
import { readStoredTrainConfig } from '../train/train-config.ts';
import { MODEL_JSON } from '../runs/run-layout.ts';
import { insideRunsWhy } from '../runs/run-locate.ts';
import { checkedAgainst, parsedJson } from '../runs/validated-read.ts';
import { encodeNpy } from './npy.ts';
import { copyBest, copyCheckpoint, copyMetrics } from './run-copy.ts';

/** The package's manifest: what it is and which run and step it continues. */
export const PACKAGE_MANIFEST = 'flowdesk-pytorch.json';
/** The run folder inside a package, which train.py continues. */
export const PACKAGE_RUN = 'run';
const PACKAGE_DATA = 'data';
const SOURCES = fileURLToPath(new URL('./pytorch/', import.meta.url));

const manifestSchema = z.looseObject({
  format: z.literal('flowdesk.pytorch'),
  version: z.literal(1),
  origin: z.looseObject({ run: z.string(), dir: z.string(), step: z.number().int().min(0) }),
});
export type PackageManifest = z.output<typeof manifestSchema>;
/** The manifest names a run and a step; anything near this size is not one. */
const MAX_MANIFEST_BYTES = 64 * 1024;

/** The package's own files in pytorch/ (not a __pycache__ a local run left there). */
function isPackageSource(name: string): boolean {
  return name.endsWith('.py') || name === 'README.md';
}

/** Whether `dir` is a PyTorch package (it has the manifest) rather than an exported model folder. */
export function isPytorchPackage(dir: string): boolean {
  return existsSync(join(dir, PACKAGE_MANIFEST));
}

/**
 * A package's manifest, checked; BAD_CHECKPOINT naming the file and field when it is not one.
 * With `roots` (the app's allowed folders) it must really lie inside them (checked-read.ts).
 */
export async function readPackageManifest(dir: string, roots?: readonly string[]): Promise<PackageManifest> {
  const path = join(dir, PACKAGE_MANIFEST);
  const text = (await readCheckedFile(path, { roots, maxBytes: MAX_MANIFEST_BYTES, what: 'PyTorch package' })).toString('utf8');
  return checkedAgainst(manifestSchema, parsedJson(text, path), path);
}

/** Class indices of `set` in the model's class order (matched by name); -1 for none or unknown. */
function labelsInModelOrder(set: ImageSet, names: readonly string[]): Int32Array {
  const index = new Map(names.map((n, i) => [n, i]));
  return Int32Array.from({ length: set.count }, (_, i) => (set.labels ? (index.get(set.classes[set.labels[i]]) ?? -1) : -1));
}

export interface PytorchExport {
  dir: string;
  /** The checkpoint step the package continues from. */
  step: number;
  trainImages: number;
  valImages: number;
  /** Things a person should know (the images changed since the run trained). */
  warnings: string[];
}

/**
 * Writes the PyTorch package of the run `runDir` into `outDir` (new or empty, outside the runs
 * folder): it continues from the run's newest whole checkpoint, on the run's images as decoded now.
 */
export async function exportPytorchPackage(runDir: string, outDir: string, runsDir: string, cacheDir?: string | null): Promise<PytorchExport> {
  const why = insideRunsWhy(outDir, runsDir);
  if (why) throw new CheckpointError('BAD_ARGUMENT', `Cannot export into ${outDir}: ${why}. Export into a new or empty folder outside the runs folder.`);
  const run = await readRunJson(runDir);
  const latest = await latestCheckpoint(runDir);
  if (!latest) throw new CheckpointError('NO_CHECKPOINT', `${runDir} has no whole checkpoint to continue from; train it first.`);
  const ckpt = await readCheckpoint(latest.dir);
  if (ckpt.optimizerMeta?.kind === 'none') {
    throw new CheckpointError('BAD_CHECKPOINT', `${runDir} is an imported model without optimizer state; only a run trained in FlowDesk can be continued in PyTorch.`);
  }
  const names = parseModelJson(ckpt.model, join(latest.dir, MODEL_JSON)).classNames ?? [];
  const folder = run.data.bundled ? defaultImageFolder() : run.data.folder;
  const { train, val, report } = await importImageFolder(folder, { size: run.model.size, channels: run.model.channels, classes: run.train.classes, cacheDir });
  const warnings = report.fingerprint === run.data.fingerprint ? [] : [`The images in ${folder} changed since the run trained; the package holds them as they are now.`];
  try {
    await mkdir(outDir, { recursive: true });
    if ((await readdir(outDir)).length > 0) throw new CheckpointError('BAD_ARGUMENT', `${outDir} is not empty; export into a new or empty folder.`);
    for (const name of (await readdir(SOURCES)).filter(isPackageSource)) await copyFile(join(SOURCES, name), join(outDir, name));
    const data = join(outDir, PACKAGE_DATA);
    await mkdir(data);
    for (const [prefix, set] of [['train', train], ['val', val]] as const) {
      await writeFileAtomically(join(data, `${prefix}-images.npy`), encodeNpy(set.pixels, [set.count, set.size, set.size, set.channels]));
      await writeFileAtomically(join(data, `${prefix}-labels.npy`), encodeNpy(labelsInModelOrder(set, names), [set.count]));
    }
    const packageRun = join(outDir, PACKAGE_RUN);
    await mkdir(packageRun);
    // parseModelJson fills every setting a stored config left out, as FlowDesk reads it.
    await copyCheckpoint(latest, packageRun, undefined, parseModelJson);
    await copyBest(runDir, packageRun, undefined, parseModelJson);
    await copyMetrics(runDir, packageRun, latest.step);
    // Every training setting as FlowDesk resumes with it (a run from before a setting existed
    // included), so train.py reads them all and holds no defaults of its own.
    await writeRunJson(packageRun, { ...run, train: readStoredTrainConfig(run.train) });
    const manifest: PackageManifest = { format: 'flowdesk.pytorch', version: 1, origin: { run: run.name, dir: runDir, step: latest.step } };
    await writeFileAtomically(join(outDir, PACKAGE_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError('IO_ERROR', `Cannot export into ${outDir}: ${ioCause(err)}.`);
  }
  return { dir: outDir, step: latest.step, trainImages: train.count, valImages: val.count, warnings };
}
