// A run lock held by another live process, as `flowdesk train` in another terminal holds one:
// a sleeping child process and a `.lock` naming it. The caller kills the child when done.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** Locks `runDir` (created if missing) for a sleeping child process; returns the child. */
export async function lockHeldElsewhere(runDir: string, since = '2026-11-30T00:00:00.000Z'): Promise<ChildProcess> {
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)']);
  await mkdir(runDir, { recursive: true });
  await writeFile(join(runDir, '.lock'), JSON.stringify({ pid: holder.pid, host: hostname(), since }));
  return holder;
}
