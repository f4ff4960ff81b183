// info.json: the display name and notes a person gives a run. The id and folder never change;
// this side file is written atomically without the run's lock (the app may rename a run while
// it trains) and training never reads it.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ioCause } from '../checkpoint/io-cause.ts';
import { CheckpointError } from '../errors.ts';
import { writeFileAtomically } from '../fs/atomic-write.ts';
import { infoPath } from './run-layout.ts';
import { checkedAgainst, parsedJson } from './validated-read.ts';

/** Longest display name and notes, in characters. */
export const RUN_NAME_MAX = 80;
export const RUN_NOTES_MAX = 4000;

const infoSchema = z.looseObject({
  name: z.string().max(RUN_NAME_MAX).optional(),
  notes: z.string().max(RUN_NOTES_MAX).optional(),
});
export interface RunInfo {
  /** Empty or absent: the page shows the id. */
  name?: string;
  notes?: string;
}

/** info.json of the run, checked; empty when the run has none. */
export async function readRunInfo(runDir: string): Promise<RunInfo> {
  const path = infoPath(runDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CheckpointError('IO_ERROR', `${path} cannot be read: ${ioCause(err)}.`);
  }
  const { name, notes } = checkedAgainst(infoSchema, parsedJson(text, path), path);
  return { ...(name ? { name } : {}), ...(notes ? { notes } : {}) };
}

/** Changes the fields given (an empty string clears one) and returns the info as stored. */
export async function updateRunInfo(runDir: string, change: RunInfo): Promise<RunInfo> {
  const merged = { ...(await readRunInfo(runDir)), ...change };
  const info: RunInfo = {
    ...(merged.name?.trim() ? { name: merged.name.trim() } : {}),
    ...(merged.notes?.trim() ? { notes: merged.notes } : {}),
  };
  try {
    await writeFileAtomically(infoPath(runDir), `${JSON.stringify(info)}\n`);
  } catch (err) {
    throw new CheckpointError('IO_ERROR', `Cannot write ${infoPath(runDir)}: ${ioCause(err)}.`);
  }
  return info;
}
