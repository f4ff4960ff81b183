// A run's status as the app shows it (training, paused, finished, cancelled, failed), kept in
// the run folder's status.json so it survives restarts; a run whose worker died mid-training
// reads as paused, since its last checkpoint is whole.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppError, RunStatus } from '../../preload/api.ts';
import { writeFileAtomically } from '../engine/fs/atomic-write.ts';

export interface StatusFile {
  status: RunStatus;
  error?: AppError;
}

export async function writeRunStatus(runDir: string, status: StatusFile): Promise<void> {
  await writeFileAtomically(join(runDir, 'status.json'), `${JSON.stringify(status)}\n`);
}

export async function readRunStatus(runDir: string, activeRunDir: string | null): Promise<StatusFile> {
  if (activeRunDir === runDir) return { status: 'training' };
  try {
    const s = JSON.parse(await readFile(join(runDir, 'status.json'), 'utf8')) as StatusFile;
    // 'training' on disk with no live trainer means the process died: resumable.
    if (s.status === 'training') return { status: 'paused' };
    if (['paused', 'finished', 'cancelled', 'failed'].includes(s.status)) return s;
  } catch {
    // No status yet (a CLI run): paused until proven finished by its metrics.
  }
  return { status: 'paused' };
}
