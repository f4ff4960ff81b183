// Moving a model in and out of FlowDesk: export a checkpoint's model.json and
// weights.safetensors to a folder (the documented open format), and import such a folder as a
// new run, after checking that it loads.
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CheckpointError } from '../errors.ts';
import { writeFileAtomically } from '../fs/atomic-write.ts';
import { loadModelDir, readModelFile } from '../models/model-files.ts';
import { resolveTrainConfig } from '../train/train-config.ts';
import { FLOWDESK_VERSION } from '../version.ts';
import { writeCheckpointFiles } from './checkpoint-store.ts';
import { createRunDir, writeRunJson } from './run-folder.ts';
import { encodeSafetensors } from './safetensors.ts';

const FILES = ['model.json', 'weights.safetensors'] as const;
/** model.json holds a few settings; anything near this size is not one. */
const MAX_MODEL_JSON_BYTES = 1024 * 1024;
/** The most Node reads into one buffer (about 2 GB on 64-bit). */
const MAX_WEIGHTS_BYTES = 2 ** 31 - 1;

/**
 * Refuses files of a foreign folder that would block or exhaust the reader before the strict
 * parsers see a byte: a FIFO blocks a read forever, a link to /dev/zero never ends.
 */
async function checkImportFile(dir: string, name: (typeof FILES)[number]): Promise<void> {
  const path = join(dir, name);
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CheckpointError('BAD_CHECKPOINT', `${path} ${code === 'ENOENT' ? 'is missing' : `cannot be read (${code})`}; an exported model folder holds model.json and weights.safetensors.`);
  }
  if (!info.isFile()) throw new CheckpointError('BAD_CHECKPOINT', `${path} is not a regular file (a folder, device or pipe); it cannot be a model file.`);
  const max = name === 'model.json' ? MAX_MODEL_JSON_BYTES : MAX_WEIGHTS_BYTES;
  if (info.size > max) throw new CheckpointError('BAD_CHECKPOINT', `${path} is ${info.size.toLocaleString('en')} bytes, over the ${max.toLocaleString('en')}-byte limit for ${name}.`);
}

/** Copies the model of `checkpointDir` into `outDir` (new or empty); returns the files written. */
export async function exportModel(checkpointDir: string, outDir: string): Promise<string[]> {
  // Refuse to export something that would not load back.
  (await loadModelDir(checkpointDir)).model.dispose();
  await mkdir(outDir, { recursive: true });
  const existing = (await readdir(outDir)).filter((n) => (FILES as readonly string[]).includes(n));
  if (existing.length > 0) throw new CheckpointError('BAD_ARGUMENT', `${outDir} already holds ${existing.join(' and ')}; export into a new or empty folder.`);
  const written: string[] = [];
  for (const name of FILES) {
    const target = join(outDir, name);
    await writeFileAtomically(target, await readFile(join(checkpointDir, name)));
    written.push(target);
  }
  return written;
}

/**
 * Checks an exported model folder and adds it to `runsDir` as a run; returns its folder. With
 * `roots` (the app's allowed folders) every file read must really lie inside them.
 */
export async function importModel(dir: string, runsDir: string, name?: string, roots?: readonly string[]): Promise<string> {
  for (const file of FILES) await checkImportFile(dir, file);
  const { model, json } = await loadModelDir(dir, roots);
  model.dispose();
  const runDir = await createRunDir(runsDir, name ?? `imported-${basename(dir).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60) || 'model'}`);
  // Written whole or not at all, like any checkpoint; run.json comes last, so a run that lists is complete.
  await writeCheckpointFiles(runDir, 0, {
    'model.json': await readModelFile(join(dir, 'model.json'), roots),
    'weights.safetensors': await readModelFile(join(dir, 'weights.safetensors'), roots),
    'state.json': `${JSON.stringify({ step: 0, imported: dir })}\n`,
    // No optimizer state travels with an exported model; an empty one keeps the checkpoint whole.
    'optimizer.safetensors': encodeSafetensors({}, { kind: 'none', step: '0' }),
  });
  await writeRunJson(runDir, {
    format: 'flowdesk.run',
    version: 1,
    name: basename(runDir),
    created: new Date().toISOString(),
    model: json.config,
    train: resolveTrainConfig({ nBits: json.nBits, steps: 1 }),
    data: { folder: dir, bundled: false, fingerprint: '', train: 0, val: 0, skipped: 0 },
    imported: true,
    versions: { flowdesk: FLOWDESK_VERSION },
  });
  return runDir;
}
