// A run's status (training, paused, finished, cancelled, failed, or imported for a model added
// from an export that has not trained here): the app keeps its last word in status.json so it survives restarts; a live lock means someone trains the run now, be it
// this worker or another process (the CLI, a second server).
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ioCause } from '../checkpoint/io-cause.ts';
import { runLockHolder } from '../checkpoint/run-lock.ts';
import { CheckpointError, type AppError } from '../errors.ts';
import { writeFileAtomically } from '../fs/atomic-write.ts';
import { statusPath } from './run-layout.ts';
import { checkedAgainst, parsedJson } from './validated-read.ts';

export const RUN_STATUSES = ['training', 'paused', 'finished', 'cancelled', 'failed'] as const;
/** 'imported' is never stored: it is what a run made by importing a model is until it trains. */
export type RunState = (typeof RUN_STATUSES)[number] | 'imported';

const statusSchema = z.object({
  status: z.enum(RUN_STATUSES),
  error: z.looseObject({ code: z.string(), message: z.string() }).optional(),
});
export interface StatusFile {
  status: RunState;
  error?: AppError;
}

/** Writes status.json atomically; only the process training the run writes it. */
export async function writeRunStatus(runDir: string, status: StatusFile & { status: (typeof RUN_STATUSES)[number] }): Promise<void> {
  await writeFileAtomically(statusPath(runDir), `${JSON.stringify(status)}\n`);
}

/** status.json as written, checked; null when the run has none (a run never trained by the app). */
async function readStatusFile(runDir: string): Promise<StatusFile | null> {
  const path = statusPath(runDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CheckpointError('IO_ERROR', `${path} cannot be read: ${ioCause(err)}.`);
  }
  return checkedAgainst(statusSchema, parsedJson(text, path), path) as StatusFile;
}

/**
 * The run's status now. "training" while a live process holds its lock; otherwise status.json,
 * where a stale "training" (the trainer died; its last checkpoint is whole) reads as paused.
 * A run without status.json is imported when it was made by importing a model and has logged
 * nothing, else finished when its metrics reached its step count, else paused.
 */
export async function readRunStatus(runDir: string, facts: { reachedLastStep: boolean; importedUntrained: boolean }): Promise<StatusFile> {
  if (await runLockHolder(runDir)) return { status: 'training' };
  const stored = await readStatusFile(runDir);
  if (!stored) return { status: facts.importedUntrained ? 'imported' : facts.reachedLastStep ? 'finished' : 'paused' };
  return stored.status === 'training' ? { status: 'paused' } : stored;
}
