// Validation at equal minutes (issue 16): with a fake clock that moves 35 s before every step, a
// run is evaluated once per time mark (1, 3, 10, 30 min), at the first step that ends past it,
// with the averaged weights, and the row says which mark it answers (nothing else is written). A resumed run continues the
// clock and answers only the marks its rows do not; a mark answered after the checkpoint a resume
// starts from is answered again, once; a run resumed past a mark it never answered leaves it
// unanswered; a time budget's end does not evaluate its last step twice; the listing reads them.
import { appendFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { readMetrics } from '../../main/engine/runs/metrics.ts';
import { metricsPath } from '../../main/engine/runs/run-layout.ts';
import { summariseRun } from '../../main/engine/runs/run-list.ts';
import { TEST_MARK_SECONDS_ENV, timeMarks } from '../../main/engine/train/time-marks.ts';
import { resume, train } from '../../main/engine/train/trainer.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { makeImageFolder } from '../helpers/image-folder.ts';

/** Fake seconds that pass before every step (steps and evaluations themselves take none). */
const TICK = 35;
/** Where marks at 60, 180, 600 and 1800 s fall at 35 s a step: the first step ending past each. */
const MARK_STEPS = { 1: 2, 3: 6, 10: 18, 30: 52 };

let folder: Awaited<ReturnType<typeof makeImageFolder>>;
const runsDir = join(tmpdir(), `flowdesk-time-marks-${process.pid}`);
const model = { kind: 'glow', size: 8, channels: 1, levels: 2, depth: 2, hidden: 16 } as const;
const settings = { batch: 8, lr: 2e-3, warmup: 5, evalEvery: 1000, checkpointEvery: 10, seed: 0 };
const common = { model, runsDir, cacheDir: null, yieldTo: async () => void vi.setSystemTime(Date.now() + TICK * 1000) } as const;
let straight: string;

async function markRows(runDir: string) {
  return (await readMetrics(runDir)).rows.filter((r) => r.marks !== undefined);
}

/** Each mark's step and value, in the order the rows were written. */
async function answers(runDir: string) {
  return (await markRows(runDir)).map((r) => ({ marks: r.marks, step: r.step, valBpd: r.valBpd }));
}

// Only Date is faked: timers, file system and compute threads run as ever.
const fakeClock = () => vi.useFakeTimers({ toFake: ['Date'] });

beforeAll(async () => {
  folder = await makeImageFolder({ count: 120, size: 8, channels: 1, pattern: 'stripes' });
  fakeClock();
  straight = (await train({ ...common, folder: folder.dir, name: 'straight', train: { ...settings, steps: 60 } })).runDir;
  vi.useRealTimers();
});
beforeEach(fakeClock);
afterEach(() => {
  vi.useRealTimers();
});
afterAll(async () => {
  await folder.cleanup();
  await rm(runsDir, { recursive: true, force: true });
});

describe('time marks', () => {
  it('evaluates once per mark, at the first step past it, with the averaged weights', async () => {
    const rows = await markRows(straight);
    expect(rows.map((r) => [r.marks, r.step])).toEqual(Object.entries(MARK_STEPS).map(([m, step]) => [[Number(m)], step]));
    for (const r of rows) {
      expect(r.type).toBe('eval');
      expect(r.weights).toBe('avg');
      const seconds = r.marks![0] * 60;
      // Past the mark, and no more than one step after it.
      expect(r.time).toBeGreaterThanOrEqual(seconds);
      expect(r.time!).toBeLessThan(seconds + TICK);
    }
    // Only recorded: no sample grid (nor best weights), so what a run leaves never depends on its pace.
    expect((await readdir(join(straight, 'samples'))).sort()).toEqual(['step-0.png', 'step-60.png']);
    // The Api's listing carries the four figures.
    const listed = (await summariseRun(straight)).valBpdAt;
    expect(listed.map((a) => [a.minutes, a.step])).toEqual(Object.entries(MARK_STEPS).map(([m, step]) => [Number(m), step]));
    listed.forEach((a, i) => expectClose(a.valBpd, rows[i].valBpd!, 0));
  });

  it('continues the clock on resume and answers only the marks not yet answered', async () => {
    const first = await train({ ...common, folder: folder.dir, name: 'paused', train: { ...settings, steps: 8 } });
    expect((await answers(first.runDir)).map((a) => a.marks)).toEqual([[1], [3]]);
    await resume(first.runDir, { steps: 60, cacheDir: null, yieldTo: common.yieldTo });
    const resumed = await answers(first.runDir);
    const whole = await answers(straight);
    expect(resumed.map((a) => [a.marks, a.step])).toEqual(whole.map((a) => [a.marks, a.step]));
    // An exact resume: the same weights at the same steps give the same figures.
    resumed.forEach((a, i) => expectClose(a.valBpd!, whole[i].valBpd!, 1e-4));
  });

  it('answers again, once, a mark whose answer came after the checkpoint a resume starts from', async () => {
    const { runDir } = await train({ ...common, folder: folder.dir, name: 'killed', train: { ...settings, steps: 20 } });
    expect((await answers(runDir)).map((a) => a.step)).toEqual([2, 6, 18]);
    // Killed after the 10-minute answer at step 18, before the checkpoint at step 20 was whole.
    await rm(join(runDir, 'checkpoints', 'step-20'), { recursive: true });
    await resume(runDir, { steps: 30, cacheDir: null, yieldTo: common.yieldTo });
    const again = await answers(runDir);
    expect(again.map((a) => [a.marks, a.step])).toEqual([[[1], 2], [[3], 6], [[10], 18]]);
    expectClose(again[2].valBpd!, (await answers(straight))[2].valBpd!, 1e-4);
  });

  it('finds the answers in metrics.jsonl again: a mark answered at the checkpoint\'s step is not answered twice', async () => {
    const { runDir } = await train({ ...common, folder: folder.dir, name: 'answered', train: { ...settings, steps: 8 } });
    // As if the 10-minute mark had been answered at step 8 after its checkpoint was taken (a time budget's last evaluation).
    await appendFile(metricsPath(runDir), `${JSON.stringify({ type: 'eval', step: 8, valBpd: 9.5, time: 600, weights: 'avg', marks: [10] })}\n`);
    await resume(runDir, { steps: 20, cacheDir: null, yieldTo: common.yieldTo });
    expect((await answers(runDir)).map((a) => [a.marks, a.step])).toEqual([[[1], 2], [[3], 6], [[10], 8]]);
    expect((await summariseRun(runDir)).valBpdAt.find((a) => a.minutes === 10)).toEqual({ minutes: 10, valBpd: 9.5, step: 8 });
  });

  it('leaves unanswered a mark the clock passed before marks were recorded', async () => {
    const { runDir } = await train({ ...common, folder: folder.dir, name: 'old', train: { ...settings, steps: 8 } });
    // As a run trained before time marks existed: its rows answer none.
    const lines = (await readFile(metricsPath(runDir), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    await writeFile(metricsPath(runDir), lines.map(({ marks: _, ...row }) => `${JSON.stringify(row)}\n`).join(''));
    await resume(runDir, { steps: 20, cacheDir: null, yieldTo: common.yieldTo });
    expect((await answers(runDir)).map((a) => [a.marks, a.step])).toEqual([[[10], 18]]);
    expect((await summariseRun(runDir)).valBpdAt.map((a) => a.minutes)).toEqual([10]);
  });

  it('ends a time budget at a mark with one evaluation of its last step', async () => {
    const { runDir, reason, step } = await train({ ...common, folder: folder.dir, name: 'budget', train: { ...settings, steps: 100, minutes: 1 } });
    expect([reason, step]).toEqual(['time', MARK_STEPS[1]]);
    const evals = (await readMetrics(runDir)).rows.filter((r) => r.type === 'eval');
    expect(evals.map((r) => [r.step, r.marks ?? null])).toEqual([[0, null], [2, [1]]]);
  });

  it('takes the marks from a test-only variable, refusing a bad one by its name', () => {
    expect(timeMarks({}).map((m) => m.seconds)).toEqual([60, 180, 600, 1800]);
    expect(timeMarks({ [TEST_MARK_SECONDS_ENV]: '2,4,6,600' }).map((m) => [m.minutes, m.seconds])).toEqual([[1, 2], [3, 4], [10, 6], [30, 600]]);
    expect(() => timeMarks({ [TEST_MARK_SECONDS_ENV]: '2,4' })).toThrow(/FLOWDESK_TEST_MARK_SECONDS must be 4 positive numbers/);
  });
});
