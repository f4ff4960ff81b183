// run.json: what a run trains (model and training settings), on what (the data's
// fingerprint), where (backend) and with which versions. Its type and version live here;
// reading it back checks every field the engine and the app use.
import { z } from 'zod';
import { ioCause } from '../checkpoint/io-cause.ts';
import { CheckpointError } from '../errors.ts';
import { writeFileAtomically } from '../fs/atomic-write.ts';
import { readCheckedFile } from '../fs/checked-read.ts';
import { resolveStoredModelConfig, type ResolvedModelConfig } from '../models/config.ts';
import type { ResolvedTrainConfig } from '../train/train-config.ts';
import { runJsonPath } from './run-layout.ts';
import { checkedAgainst, parsedJson } from './validated-read.ts';

export const RUN_FORMAT = 'flowdesk.run';
export const RUN_VERSION = 1;

export interface RunJson {
  format: typeof RUN_FORMAT;
  version: typeof RUN_VERSION;
  name: string;
  created: string;
  model: ResolvedModelConfig;
  train: ResolvedTrainConfig;
  data: { folder: string; bundled: boolean; fingerprint: string; train: number; val: number; skipped: number };
  /** Where it last trained (the backend report, of which readers rely on `name`); an imported model has not trained here yet. */
  backend?: { name: string; tfBackend?: string };
  /** Set on a run made by importing an exported model. */
  imported?: boolean;
  /** Set on a run brought back from a PyTorch package: the run and checkpoint step it continued. */
  continuedFrom?: { run: string; step: number };
  versions: { flowdesk: string; tfjs?: string; node?: string };
}

const count = z.number().int().min(0);
/**
 * `model` and `train` are checked for their shape only: the settings schema owns their fields
 * and bounds, and a stored run is read with the bounds it was written under.
 */
const runJsonSchema = z.looseObject({
  format: z.literal(RUN_FORMAT),
  version: z.literal(RUN_VERSION),
  name: z.string(),
  created: z.string(),
  model: z.looseObject({ kind: z.string(), size: z.number(), channels: z.number() }),
  train: z.looseObject({
    steps: z.number(),
    nBits: z.number(),
    optimizer: z.looseObject({ kind: z.string(), lr: z.number(), warmup: z.number() }),
  }),
  data: z.looseObject({ folder: z.string(), bundled: z.boolean(), fingerprint: z.string(), train: count, val: count, skipped: count }),
  backend: z.looseObject({ name: z.string() }).optional(),
  imported: z.boolean().optional(),
  continuedFrom: z.looseObject({ run: z.string(), step: count }).optional(),
  versions: z.looseObject({ flowdesk: z.string() }),
});

/** Writes run.json atomically. */
export async function writeRunJson(runDir: string, run: RunJson): Promise<void> {
  const path = runJsonPath(runDir);
  try {
    await writeFileAtomically(path, `${JSON.stringify(run, null, 2)}\n`);
  } catch (err) {
    throw new CheckpointError('IO_ERROR', `Cannot write ${path}: ${ioCause(err)}.`);
  }
}

/**
 * run.json of `runDir`, checked; NO_CHECKPOINT when there is none, BAD_CHECKPOINT naming the field
 * when damaged. With `roots` (the app's allowed folders) it must really lie inside them (checked-read.ts).
 */
export async function readRunJson(runDir: string, roots?: readonly string[]): Promise<RunJson> {
  const path = runJsonPath(runDir);
  let text: string;
  try {
    text = (await readCheckedFile(path, { roots, what: 'run' })).toString('utf8');
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CheckpointError('NO_CHECKPOINT', `${runDir} is not a FlowDesk run folder (no run.json).`);
    throw new CheckpointError('IO_ERROR', `${path} cannot be read: ${ioCause(err)}.`);
  }
  // The train section was resolved when the run was written; see the schema's note. The model
  // section is read as a stored config, so a run from before a model setting existed reads
  // with the layers it was trained with (e.g. Glow's format-1 networks).
  const run = checkedAgainst(runJsonSchema, parsedJson(text, path), path) as unknown as RunJson;
  try {
    return { ...run, model: resolveStoredModelConfig(run.model) };
  } catch (err) {
    throw new CheckpointError('BAD_CHECKPOINT', `${path}: "model" is wrong (${(err as Error).message}); the file is damaged or from another program.`);
  }
}
