// The renderer's stores against a fake Api: training follows worker events (curves, progress,
// finish, crash), failed calls surface as messages, an import carries the chosen classes to the
// run, a dragged temperature slider asks for one grid at a time and ends on the latest setting, and a
// class-conditional run keeps its class figures and is sampled by class (with guidance where it takes one).
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Api, Result, SampleGrid } from '../../preload/api.ts';

const fake = vi.hoisted(() => ({ api: {} as Record<string, (...args: unknown[]) => Promise<unknown>> }));
vi.mock('../../renderer/src/api/index.ts', () => ({ api: fake.api as unknown as Api }));

const { useTrainingStore } = await import('../../renderer/src/stores/training.ts');
const { useSamplesStore } = await import('../../renderer/src/stores/samples.ts');
const { useAppStore } = await import('../../renderer/src/stores/app.ts');
const { useDataStore } = await import('../../renderer/src/stores/data.ts');
const { useJobsStore } = await import('../../renderer/src/stores/jobs.ts');

beforeEach(() => {
  setActivePinia(createPinia());
  for (const k of Object.keys(fake.api)) delete fake.api[k];
});

describe('training store', () => {
  it('follows a run from start to finish through events', async () => {
    fake.api.startTraining = async () => ({ ok: true, value: { runId: 'r1' } });
    const t = useTrainingStore();
    await t.start();
    expect(t.runId).toBe('r1');
    expect(t.phase).toBe('starting');
    t.handle({ type: 'train-start', runId: 'r1', step: 0, totalSteps: 2, backend: 'wasm', resumed: false });
    t.handle({ type: 'train-step', runId: 'r1', step: 1, totalSteps: 2, loss: 7.5, imgPerSec: 40, elapsed: 1, eta: 1 });
    t.handle({ type: 'train-eval', runId: 'r1', step: 1, valBpd: 7.2, elapsed: 1.2 });
    t.handle({ type: 'train-step', runId: 'other', step: 9, totalSteps: 9, loss: 1, imgPerSec: 1, elapsed: 1, eta: 0 });
    t.handle({ type: 'train-step', runId: 'r1', step: 2, totalSteps: 2, loss: 7.1, imgPerSec: 42, elapsed: 2, eta: 0 });
    expect(t.phase).toBe('training');
    expect(t.trainCurve.map((p) => p.value)).toEqual([7.5, 7.1]);
    expect(t.valCurve).toEqual([{ step: 1, time: 1.2, value: 7.2 }]);
    expect(t.progress).toBe(1);
    t.handle({ type: 'train-stopped', runId: 'r1', step: 2, status: 'finished' });
    expect(t.phase).toBe('finished');
    expect(t.busy).toBe(false);
  });

  it("keeps a conditional run's unconditional curve and latest class figures, and none for an unconditional run", () => {
    const t = useTrainingStore();
    t.handle({ type: 'train-start', runId: 'c1', step: 0, totalSteps: 20, backend: 'wasm', resumed: false });
    t.handle({ type: 'train-eval', runId: 'c1', step: 10, valBpd: 5.1, elapsed: 3, classes: { unconditionalBpd: 5.3, accuracy: 0.5 } });
    t.handle({ type: 'train-eval', runId: 'c1', step: 20, valBpd: 4.9, elapsed: 6, classes: { unconditionalBpd: 5.0, accuracy: 0.75 } });
    expect(t.valUnconditionalCurve).toEqual([{ step: 10, time: 3, value: 5.3 }, { step: 20, time: 6, value: 5.0 }]);
    expect(t.classFigures).toEqual({ unconditionalBpd: 5.0, accuracy: 0.75 });
    t.handle({ type: 'train-start', runId: 'u1', step: 0, totalSteps: 20, backend: 'wasm', resumed: false });
    t.handle({ type: 'train-eval', runId: 'u1', step: 10, valBpd: 5.1, elapsed: 3 });
    expect(t.valUnconditionalCurve).toEqual([]);
    expect(t.classFigures).toBeNull();
  });

  it('shows what the run does before its first step, a new run before it has an id', async () => {
    let answer: (v: Result<{ runId: string }>) => void = () => undefined;
    fake.api.startTraining = () => new Promise((r) => (answer = r));
    const t = useTrainingStore();
    const started = t.start();
    t.handle({ type: 'train-phase', runId: null, phase: 'loading-images' });
    expect(t.startPhase).toBe('loading-images');
    t.handle({ type: 'train-start', runId: 'r3', step: 0, totalSteps: 5, backend: 'onnx', resumed: false });
    answer({ ok: true, value: { runId: 'r3' } });
    await started;
    t.handle({ type: 'train-phase', runId: 'other', phase: 'first-step' });
    t.handle({ type: 'train-phase', runId: 'r3', phase: 'preparing-backend' });
    expect(t.startPhase).toBe('preparing-backend');
    t.handle({ type: 'train-step', runId: 'r3', step: 1, totalSteps: 5, loss: 7, imgPerSec: 10, elapsed: 1, eta: null });
    expect(t.startPhase).toBeNull();
    // Once training, a phase without a run id (another window's new run) is not this one's.
    t.handle({ type: 'train-phase', runId: null, phase: 'loading-images' });
    expect(t.startPhase).toBeNull();
  });

  it('shows a refused start as a message and stays idle', async () => {
    fake.api.startTraining = async () => ({ ok: false, error: { code: 'NO_IMAGES', message: 'No usable images in /x.' } });
    const t = useTrainingStore();
    await t.start();
    expect(t.phase).toBe('idle');
    expect(useAppStore().error?.message).toBe('No usable images in /x.');
  });

  it('turns a worker crash into a resumable state', async () => {
    const t = useTrainingStore();
    t.handle({ type: 'train-start', runId: 'r2', step: 0, totalSteps: 10, backend: 'wasm', resumed: false });
    t.handle({ type: 'worker-crashed', message: 'The compute worker stopped unexpectedly (exit code 137).', runId: 'r2' });
    expect(t.phase).toBe('crashed');
    expect(t.crash).toMatch(/exit code 137/);
    let resumed = '';
    fake.api.resumeTraining = async (req) => {
      resumed = (req as { runId: string }).runId;
      return { ok: true, value: { runId: resumed } };
    };
    await t.resume();
    expect(resumed).toBe('r2');
    expect(t.crash).toBeNull();
  });

  it('sizes presets to the imported images', () => {
    const data = useDataStore();
    data.size = 32;
    data.channels = 3;
    const t = useTrainingStore();
    t.applyPreset('realnvp', 'medium');
    expect(t.model).toMatchObject({ kind: 'realnvp', size: 32, channels: 3, levels: 3, depth: 3, hidden: 128 });
  });
});

describe('data store', () => {
  it('a failed import leaves no report, keeps size and colour, and says so', async () => {
    const data = useDataStore();
    fake.api.importFolder = async () => ({ ok: true, value: { folder: 'digits', bundled: true, found: 3, used: 3, train: 2, val: 1, skipped: [], fromCache: false, seconds: 1, thumbnails: '', classes: [] } });
    expect(await data.load()).toBe(true);
    expect(data.description).toBe('bundled digits · 16×16 gray');
    data.pickSource('folder');
    data.useFolder('/x/missing');
    data.size = 64;
    fake.api.importFolder = async () => ({ ok: false, error: { code: 'NO_FOLDER', message: 'Folder /x/missing does not exist.' } });
    expect(await data.load()).toBe(false);
    expect(data.summary).toBeNull();
    expect(data.failure?.code).toBe('NO_FOLDER');
    expect([data.size, data.channels]).toEqual([64, 3]);
    expect(data.description).toBe('/x/missing · 64×64 RGB (import failed: see Data)');
  });

  it('imports with the chosen classes, says how many came, and starts training with them', async () => {
    const data = useDataStore();
    const asked: unknown[] = [];
    const classes = ['0', '1', '2'].map((name) => ({ name, train: 9, val: 1, strip: '' }));
    fake.api.importFolder = async (req) => {
      asked.push(req);
      return { ok: true, value: { folder: 'digits', bundled: true, found: 30, used: 30, train: 27, val: 3, skipped: [], fromCache: false, seconds: 1, thumbnails: '', classes } };
    };
    data.classes = 'folders';
    expect(data.description).toBe('bundled digits · 16×16 gray · classes from sub-folders (not imported yet)');
    expect(await data.load()).toBe(true);
    expect(asked[0]).toMatchObject({ folder: null, classes: 'folders' });
    expect(data.description).toBe('bundled digits · 16×16 gray · 3 classes');
    const t = useTrainingStore();
    expect(t.train.classes).toBe('none');
    expect(t.startRequest().train.classes).toBe('folders');
  });
});

describe('samples store', () => {
  it('coalesces slider moves into one request at a time, ending on the latest temperature', async () => {
    const asked: number[] = [];
    let release: () => void = () => undefined;
    fake.api.sample = (req) =>
      new Promise<Result<SampleGrid>>((resolve) => {
        const t = (req as { temperature: number }).temperature;
        asked.push(t);
        release = () => resolve({ ok: true, value: { image: `grid-${t}`, n: 36, outOfRange: t > 0.3 ? 2 : 0 } });
      });
    const s = useSamplesStore();
    s.runId = 'r1';
    s.temperature = 0.1;
    const first = s.draw();
    for (const t of [0.2, 0.3, 0.4]) {
      s.temperature = t;
      void s.draw();
    }
    release();
    await vi.waitFor(() => expect(asked).toEqual([0.1, 0.4]));
    release();
    await first;
    expect(s.grid).toBe('grid-0.4');
    expect(s.outOfRange).toBe(2);
  });

  it("asks a conditional run for a row per class or one class, with guidance only where the model takes it", async () => {
    const asked: unknown[] = [];
    fake.api.sample = async (req) => (asked.push(req), { ok: true, value: { image: 'g', n: 24, outOfRange: 0, rowLabels: ['ant', 'bee', 'cat'] } });
    fake.api.getSampleGrid = async () => ({ ok: true, value: 'saved' });
    const detail = (kind: string, classes: string[]) => ({ ok: true, value: { summary: { model: { kind } }, metrics: [], sampleSteps: [10], weights: null, classes } });
    const s = useSamplesStore();
    fake.api.getRun = async () => detail('glow', ['ant', 'bee', 'cat']);
    await s.open('glow-run');
    expect(asked.at(-1)).toEqual({ runId: 'glow-run', n: 8, temperature: 0.7, seed: 0, className: 'all' });
    expect(s.rowLabels).toEqual(['ant', 'bee', 'cat']);
    s.className = 'bee';
    await s.draw();
    expect(asked.at(-1)).toEqual({ runId: 'glow-run', n: 36, temperature: 0.7, seed: 0, className: 'bee' });
    fake.api.getRun = async () => detail('tarflow', ['ant', 'bee']);
    s.guidance = 2;
    await s.open('tarflow-run');
    // 'bee' is a class of this run too, so the choice stays.
    expect(asked.at(-1)).toEqual({ runId: 'tarflow-run', n: 36, temperature: 0.7, seed: 0, className: 'bee', guidance: 2 });
    fake.api.getRun = async () => detail('glow', []);
    await s.open('plain-run');
    expect(asked.at(-1)).toEqual({ runId: 'plain-run', n: 36, temperature: 0.7, seed: 0 });
    expect(s.className).toBe('all');
  });
});

describe('jobs', () => {
  it('follows a job from its events, and an import cancelled is no error and keeps the old report', async () => {
    const jobs = useJobsStore();
    const data = useDataStore();
    const app = useAppStore();
    let jobId = '';
    fake.api.importFolder = async (req) => {
      jobId = (req as { jobId: string }).jobId;
      jobs.handle({ type: 'job', job: { id: jobId, kind: 'import', label: 'Importing', done: 5, total: 10, rate: 50, eta: 0.1, state: 'running' } });
      return { ok: false, error: { code: 'CANCELLED', message: 'Importing was cancelled; nothing was kept.' } };
    };
    let cancelled = '';
    fake.api.cancelJob = async (req) => {
      cancelled = (req as { jobId: string }).jobId;
      return { ok: true, value: null };
    };
    expect(await data.load()).toBe(false);
    expect(jobId).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(data.importJob).toBe(jobId);
    expect(jobs.jobs[jobId]).toMatchObject({ done: 5, total: 10, state: 'running' });
    expect(app.error).toBeNull();
    expect(data.summary).toBeNull();
    await jobs.cancel(jobId);
    expect(cancelled).toBe(jobId);
    fake.api.importFolder = async () => ({ ok: false, error: { code: 'NO_IMAGES', message: 'No images in /x.' } });
    await data.load();
    expect(data.importJob).not.toBe(jobId);
    // A real failure shows beside the Data form (data.failure), where it can be fixed.
    expect(data.failure?.message).toBe('No images in /x.');
  });
});
