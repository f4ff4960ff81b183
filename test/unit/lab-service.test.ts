// The Lab behind the Api, with its own compute thread: a model trains there with step, frame and
// stop events and lands in the list; a second training is refused while one runs; stop works;
// targets, flow pictures and a table's ranking come back as plain arrays; a distilled student and
// its teacher are timed drawing points; a bad expression is refused in words; a model in training
// cannot be deleted, a stopped one can.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEvent } from '../../preload/api.ts';
import { LabService } from '../../main/worker/lab-service.ts';

let runsDir: string;
let lab: LabService;
const events: AppEvent[] = [];
const small = { layers: 2, hidden: 16, batch: 64, lr: 5e-3 };

/** Resolves with the lab-stopped event of `id`. */
function stopped(id: string): Promise<Extract<AppEvent, { type: 'lab-stopped' }>> {
  return new Promise((resolve) => {
    const look = () => {
      const e = events.find((x): x is Extract<AppEvent, { type: 'lab-stopped' }> => x.type === 'lab-stopped' && x.id === id);
      if (e) resolve(e);
      else setTimeout(look, 50);
    };
    look();
  });
}

beforeAll(async () => {
  runsDir = await mkdtemp(join(tmpdir(), 'lab-service-'));
  lab = new LabService(runsDir, [runsDir], (e) => events.push(e));
});
afterAll(async () => {
  await lab.stopForShutdown();
  await rm(runsDir, { recursive: true, force: true });
});

describe('Lab service', () => {
  it('trains in its thread with step and frame events, and lists the model with its result', async () => {
    const { id } = await lab.startLab({ flow: 'realnvp', settings: { ...small, steps: 60 }, target: { kind: 'samples', name: '8gaussians' } });
    await expect(lab.startLab({ flow: 'nice', settings: small, target: { kind: 'samples', name: 'rings' } })).rejects.toMatchObject({ code: 'LAB_BUSY' });
    const end = await stopped(id);
    expect(end).toMatchObject({ ended: 'steps', step: 60 });
    expect(end.result!.testNll).toBeGreaterThan(0);
    const steps = events.filter((e) => e.type === 'lab-step' && e.id === id);
    expect(steps.at(-1)).toMatchObject({ step: 60, totalSteps: 60 });
    const frame = events.find((e): e is Extract<AppEvent, { type: 'lab-frame' }> => e.type === 'lab-frame' && e.id === id)!.frame;
    expect(frame.dim).toBe(2);
    expect(frame.density!.logp).toHaveLength(frame.density!.res ** 2);
    expect(frame.samples).toHaveLength(1000);
    const [summary] = await lab.listLab();
    expect(summary).toMatchObject({ id, flow: 'realnvp', targetLabel: '8 Gaussians', targetKey: 'samples:8gaussians', dim: 2, step: 60, training: false });
    expect(summary.parameters).toBeGreaterThan(0);
    const detail = await lab.getLab({ id });
    expect(detail.curve).toHaveLength(60);
  }, 120_000);

  it('stops on request, refuses to delete while training, and deletes after', async () => {
    const { id } = await lab.startLab({ flow: 'nice', settings: { ...small, steps: 1_000_000 }, target: { kind: 'samples', name: 'moons' } });
    await expect(lab.deleteLab({ id })).rejects.toMatchObject({ code: 'RUN_LOCKED' });
    expect((await lab.listLab()).find((m) => m.id === id)?.training).toBe(true);
    await lab.stopLab({ id });
    const end = await stopped(id);
    expect(end.ended).toBe('stopped');
    expect(end.step).toBeLessThan(1_000_000);
    await lab.deleteLab({ id });
    expect((await lab.listLab()).map((m) => m.id)).not.toContain(id);
  }, 120_000);

  it('draws a target: the truth on a grid where known, a histogram otherwise, and refuses a bad expression', async () => {
    const board = await lab.labTarget({ target: { kind: 'samples', name: 'checkerboard' } });
    expect(board).toMatchObject({ label: 'Checkerboard', dim: 2, kind: 'samples', density: { from: 'truth' } });
    // Half the checkerboard's cells are empty: zero density travels as null.
    expect(board.density!.logp.filter((v) => v === null).length).toBeGreaterThan(board.density!.res ** 2 / 4);
    const moons = await lab.labTarget({ target: { kind: 'samples', name: 'moons' } });
    expect(moons.density!.from).toBe('histogram');
    const energy = await lab.labTarget({ target: { kind: 'energy', name: 'u1' } });
    expect(energy).toMatchObject({ kind: 'energy', samples: [] });
    await expect(lab.labTarget({ target: { kind: 'expression', expression: 'x +* y' } })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  }, 60_000);

  it('pushes a grid and base samples through every layer for the flow picture', async () => {
    const [model] = await lab.listLab();
    const picture = await lab.labPicture({ id: model.id });
    const perStage = 2 * (picture.lines * picture.linePoints + picture.samples);
    expect(picture.stages.length).toBeGreaterThan(2);
    for (const s of picture.stages) expect(s.points).toHaveLength(perStage);
    expect(picture.arrows).toBeNull();
  }, 60_000);

  it('distils a model into an IAF and times both drawing 10,000 points, one after the other', async () => {
    const teacher = (await lab.listLab()).find((m) => m.flow === 'realnvp' && m.targetKey === 'samples:8gaussians')!;
    const { id } = await lab.startLab({ flow: 'iaf', settings: { ...small, steps: 20 }, target: { kind: 'model', id: teacher.id } });
    expect((await stopped(id)).result!.klToTruth).not.toBeNull();
    expect((await lab.listLab()).find((m) => m.id === id)).toMatchObject({ targetKey: `model:${teacher.id}`, targetLabel: `Distilled from ${teacher.id}` });
    const times = await lab.labSamplingTimes({ teacher: teacher.id, student: id });
    expect(times.teacherMs).toBeGreaterThan(0);
    expect(times.studentMs).toBeGreaterThan(0);
    await expect(lab.labSamplingTimes({ teacher: 'no-such-model', student: id })).rejects.toThrow(/no-such-model/);
  }, 120_000);

  it('ranks a table\'s rows, least likely first, with each row\'s line and values', async () => {
    const rows = Array.from({ length: 60 }, (_, i) => `${Math.sin(i)},${Math.cos(i)},${i % 3}`);
    rows[17] = '40,-40,9';
    const file = join(runsDir, 'table.csv');
    await writeFile(file, `a,b,c\n${rows.join('\n')}\n`);
    const { id } = await lab.startLab({ flow: 'realnvp', settings: { ...small, steps: 30 }, target: { kind: 'csv', file } });
    await stopped(id);
    await expect(lab.labPicture({ id })).rejects.toThrow(/two-dimensional models; .* has 3 dimensions/);
    const ranking = await lab.labRank({ id });
    expect(ranking).toMatchObject({ columns: 3, total: 60 });
    expect(ranking.rows[0].line).toBe(19);
    expect(ranking.rows[0].values[0]).toBeCloseTo(40, 3);
    expect(ranking.rows[0].nll).toBeGreaterThan(ranking.rows[1].nll);
  }, 120_000);
});
