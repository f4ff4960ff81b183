// Every command that computes says which backend runs and why the ones before it were skipped.
import { describeBackend, initBackend, type BackendName } from '../engine/backend.ts';

export async function announceBackend(force?: BackendName): Promise<void> {
  process.stderr.write(`${describeBackend(await initBackend({ force }))}\n`);
}
