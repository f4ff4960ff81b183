// Creating a run folder: never reuses an existing one, never nests one run inside another.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ioCause } from '../checkpoint/io-cause.ts';
import { CheckpointError } from '../errors.ts';
import { RUN_ID, RUN_ID_RULE } from './run-id.ts';
import { checkpointsDir, runJsonPath, samplesDir } from './run-layout.ts';

/** The UTC time and a random suffix, e.g. 2026-11-23T10-15-00-ab12. */
export function defaultRunName(): string {
  return `${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}-${randomBytes(2).toString('hex')}`;
}

/**
 * Creates a new run folder `parent/name` with samples/ and checkpoints/; never reuses an
 * existing one. `name` defaults to the UTC time and a random suffix, e.g. 2026-11-23T10-15-00-ab12.
 * A `parent` that is itself a run (it holds run.json) is refused: runs never nest.
 */
export async function createRunDir(parent: string, name?: string): Promise<string> {
  if (name !== undefined && !RUN_ID.test(name)) {
    throw new CheckpointError('BAD_ARGUMENT', `Run name ${JSON.stringify(name)} must be ${RUN_ID_RULE}.`);
  }
  if (existsSync(runJsonPath(parent))) {
    throw new CheckpointError('BAD_ARGUMENT', `${parent} is a run, not a folder of runs; give the folder that holds runs, or resume this one with --resume.`);
  }
  try {
    await mkdir(parent, { recursive: true });
    // A default name that collides (same second, same suffix) is drawn again; a chosen one is refused.
    for (let attempt = 0; ; attempt++) {
      const base = name ?? defaultRunName();
      const dir = join(parent, base);
      try {
        await mkdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (name === undefined && attempt < 5) continue;
        throw new CheckpointError('BAD_ARGUMENT', `A run named ${base} already exists in ${parent}; choose another name or resume it.`);
      }
      await mkdir(samplesDir(dir));
      await mkdir(checkpointsDir(dir));
      return dir;
    }
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError('IO_ERROR', `Cannot create a run folder in ${parent}: ${ioCause(err)}.`);
  }
}
