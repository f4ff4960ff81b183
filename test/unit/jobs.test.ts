// Long calls as jobs (main/worker/jobs.ts): progress events with a rate and ETA, throttled; a
// cancel by id that makes the call answer CANCELLED; failures reported; one job per id.
import { describe, expect, it, vi } from 'vitest';
import type { AppEvent, JobProgress } from '../../preload/api.ts';
import { FlowDeskError } from '../../main/engine/errors.ts';
import { cancelJob, runJob } from '../../main/worker/jobs.ts';

function recorder() {
  const jobs: JobProgress[] = [];
  return { jobs, emit: (e: AppEvent) => e.type === 'job' && jobs.push(e.job) };
}

describe('runJob', () => {
  it('reports progress with a rate and an ETA, at most about ten times a second, and its end', async () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const { jobs, emit } = recorder();
      const value = await runJob(emit, { id: 'j1', kind: 'import', label: 'Importing x', total: 100 }, async (progress) => {
        for (let i = 1; i <= 100; i++) {
          vi.advanceTimersByTime(10);
          progress(i);
        }
        return 'ok';
      });
      expect(value).toBe('ok');
      expect(jobs[0]).toMatchObject({ id: 'j1', kind: 'import', label: 'Importing x', done: 0, total: 100, rate: null, eta: null, state: 'running' });
      // 1 s of work in 100 updates: about one event per 100 ms, plus the first and the last.
      expect(jobs.length).toBeGreaterThanOrEqual(9);
      expect(jobs.length).toBeLessThanOrEqual(13);
      const middle = jobs.find((j) => j.state === 'running' && j.done === 50)!;
      expect(middle.rate).toBeCloseTo(100, 5);
      expect(middle.eta).toBeCloseTo(0.5, 5);
      expect(jobs.at(-1)).toMatchObject({ state: 'done', done: 100, eta: 0 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('takes a total learned along the way (null while unknown)', async () => {
    const { jobs, emit } = recorder();
    await runJob(emit, { id: 'j2', kind: 'rank', label: 'Ranking', total: null }, async (progress) => {
      progress(7, 20);
    });
    expect(jobs.at(-1)).toMatchObject({ state: 'done', done: 7, total: 20 });
  });

  it('stops when cancelled: the call answers CANCELLED and the last event says cancelled', async () => {
    const { jobs, emit } = recorder();
    let seen: AbortSignal | null = null;
    const call = runJob(emit, { id: 'j3', kind: 'direction', label: 'Computing a direction', total: 10 }, (_progress, signal) => {
      seen = signal;
      return new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped'))));
    });
    cancelJob('j3');
    await expect(call).rejects.toMatchObject({ code: 'CANCELLED', message: expect.stringMatching(/Computing a direction was cancelled/) });
    expect(seen!.aborted).toBe(true);
    expect(jobs.at(-1)).toMatchObject({ id: 'j3', state: 'cancelled', error: { code: 'CANCELLED' } });
    // Ended jobs are forgotten: the id can be used again, and cancelling it now is a no-op.
    cancelJob('j3');
    await expect(runJob(emit, { id: 'j3', kind: 'direction', label: 'again', total: 1 }, async () => 1)).resolves.toBe(1);
  });

  it('keeps nothing from work that finished in spite of a cancel', async () => {
    const { emit } = recorder();
    const call = runJob(emit, { id: 'j4', kind: 'import', label: 'Importing y', total: 1 }, async () => {
      cancelJob('j4');
      return 'late';
    });
    await expect(call).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('reports a failure with its error and rethrows it', async () => {
    const { jobs, emit } = recorder();
    const call = runJob(emit, { id: 'j5', kind: 'import', label: 'Importing z', total: null }, async () => {
      throw new FlowDeskError('NO_IMAGES', 'No images in z.');
    });
    await expect(call).rejects.toMatchObject({ code: 'NO_IMAGES' });
    expect(jobs.at(-1)).toMatchObject({ state: 'failed', error: { code: 'NO_IMAGES', message: 'No images in z.' } });
  });

  it('refuses a second job under an id that is running, and names one itself when none is given', async () => {
    const { jobs, emit } = recorder();
    let release = () => undefined as void;
    const first = runJob(emit, { id: 'same', kind: 'rank', label: 'first', total: null }, () => new Promise<void>((r) => (release = r)));
    await expect(runJob(emit, { id: 'same', kind: 'rank', label: 'second', total: null }, async () => undefined)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    release();
    await first;
    await runJob(emit, { kind: 'rank', label: 'anonymous', total: null }, async () => undefined);
    expect(jobs.at(-1)!.id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });
});
