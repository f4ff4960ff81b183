// The Lab store against a fake Api whose target pictures answer when the test says: Train pressed
// while a chosen target is still on its way trains on that target (not the one shown before, whose
// table the view no longer shows), a target refused meanwhile trains nothing, and of two targets
// whose answers cross the later choice is shown. Train trains what the visible tab holds: points
// drawn, a CSV path or an expression typed but not yet used are used first, and an empty tab trains nothing.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { LabTargetSpec } from '../../common/lab/lab-catalog.ts';
import type { Api, LabStartRequest, LabTargetPicture, Result } from '../../preload/api.ts';

const fake = vi.hoisted(() => ({ api: {} as Record<string, (...args: unknown[]) => Promise<unknown>> }));
vi.mock('../../renderer/src/api/index.ts', () => ({ api: fake.api as unknown as Api }));

const { useLabStore } = await import('../../renderer/src/stores/lab.ts');

const pictureOf = (label: string): LabTargetPicture => ({ label, dim: 2, kind: 'samples', density: null, samples: [] });

/** Target pictures held until `answer(i)` lets the i-th asked one through; start calls recorded. */
function fakeLab() {
  const held: { target: LabTargetSpec; reply: (r: Result<LabTargetPicture>) => void }[] = [];
  const started: LabStartRequest[] = [];
  fake.api.labTarget = (req) => new Promise((reply) => held.push({ target: (req as { target: LabTargetSpec }).target, reply }));
  fake.api.listLab = async () => ({ ok: true, value: [] });
  fake.api.startLab = async (req) => (started.push(req as LabStartRequest), { ok: true, value: { id: `m${started.length}` } });
  const answer = async (i: number, r: Result<LabTargetPicture> = { ok: true, value: pictureOf(JSON.stringify(held[i].target)) }) => {
    held[i].reply(r);
    await settle();
  };
  return { held, started, answer };
}

/** Lets the store's pending awaits run (a target asked for, an answer taken in). */
async function settle() {
  for (let k = 0; k < 10; k++) await Promise.resolve();
}

beforeEach(() => {
  setActivePinia(createPinia());
  for (const k of Object.keys(fake.api)) delete fake.api[k];
});

describe('Lab store: the target Train uses', () => {
  it('waits for an energy chosen just before Train and trains on it, not on the target shown before', async () => {
    const { held, started, answer } = fakeLab();
    const lab = useLabStore();
    void lab.showTarget();
    await answer(0);
    expect(lab.target).toEqual({ kind: 'samples', name: 'checkerboard' });
    // The energy is chosen (the view shows it at once) and Train pressed before its picture arrives.
    lab.mode = 'energy';
    void lab.showTarget();
    lab.flow = 'realnvp';
    const training = lab.train();
    await answer(1, { ok: true, value: { ...pictureOf('U1'), kind: 'energy' } });
    await training;
    expect(held.map((h) => h.target.kind)).toEqual(['samples', 'energy']);
    expect(started).toHaveLength(1);
    expect(started[0].target).toEqual({ kind: 'energy', name: 'u1' });
    expect(started[0].flow).toBe('realnvp');
    expect(lab.liveId).toBe('m1');
    expect(lab.phase).toBe('training');
  });

  it('is busy while it waits, so a second press starts nothing more', async () => {
    const { started, answer } = fakeLab();
    const lab = useLabStore();
    lab.mode = 'energy';
    void lab.showTarget();
    const training = lab.train();
    expect(lab.busy).toBe(true);
    expect(started).toHaveLength(0);
    await answer(0);
    await training;
    expect(started).toHaveLength(1);
  });

  it('trains nothing when the target chosen just before Train is refused', async () => {
    const { started, answer } = fakeLab();
    const lab = useLabStore();
    void lab.showTarget();
    await answer(0);
    lab.mode = 'expression';
    lab.expression = 'x +';
    void lab.showTarget();
    const training = lab.train();
    await answer(1, { ok: false, error: { code: 'BAD_ARGUMENT', message: 'Column 4: expected a number.' } });
    await training;
    expect(started).toHaveLength(0);
    expect(lab.phase).toBe('idle');
    expect(lab.error?.message).toBe('Column 4: expected a number.');
  });

  it('shows the later of two targets whose answers cross', async () => {
    const { answer } = fakeLab();
    const lab = useLabStore();
    lab.mode = 'energy';
    lab.energy = 'u1';
    void lab.showTarget();
    lab.energy = 'u2';
    const second = lab.showTarget();
    await answer(1);
    await answer(0);
    await second;
    expect(lab.target).toEqual({ kind: 'energy', name: 'u2' });
    expect(lab.picture?.label).toBe(JSON.stringify({ kind: 'energy', name: 'u2' }));
  });
});

/** The three tabs whose target is shown only on request, each filled in and each left empty. */
const TABS = [
  { mode: 'draw', fill: (lab: Lab) => lab.drawn.push([0.5, -1], [1, 2]), empty: (lab: Lab) => (lab.drawn = []), target: { kind: 'points', points: [[0.5, -1], [1, 2]] }, field: /Draw some points/ },
  { mode: 'csv', fill: (lab: Lab) => (lab.csvFile = ' /data/table.csv '), empty: (lab: Lab) => (lab.csvFile = '  '), target: { kind: 'csv', file: '/data/table.csv' }, field: /path of a CSV file/ },
  { mode: 'expression', fill: (lab: Lab) => (lab.expression = 'x^2 + y'), empty: (lab: Lab) => (lab.expression = ''), target: { kind: 'expression', expression: 'x^2 + y' }, field: /Type an energy U\(x, y\)/ },
] as const;
type Lab = ReturnType<typeof useLabStore>;

/** A Lab showing its first target, switched to `tab`'s mode with the tab filled in or emptied. */
async function onTab(tab: (typeof TABS)[number], how: 'fill' | 'empty') {
  const fake = fakeLab();
  const lab = useLabStore();
  void lab.showTarget();
  await fake.answer(0);
  lab.mode = tab.mode;
  tab[how](lab);
  return { ...fake, lab };
}

describe('Lab store: Train trains what the visible tab holds', () => {
  it.each(TABS)('uses a $mode target filled in but not yet used, then trains on it', async (tab) => {
    const { held, started, answer, lab } = await onTab(tab, 'fill');
    const training = lab.train();
    await settle();
    // Train asked for the tab's target itself, as "Use this target" does, and waited for it.
    expect(held.map((h) => h.target)).toEqual([{ kind: 'samples', name: 'checkerboard' }, tab.target]);
    expect(started).toHaveLength(0);
    await answer(1);
    await training;
    expect(started.map((s) => s.target)).toEqual([tab.target]);
    expect(lab.target).toEqual(tab.target);
    expect(lab.inputsShown).toBe(true);
    expect(lab.phase).toBe('training');
  });

  it.each(TABS)('trains nothing from an empty $mode tab and says what to fill in', async (tab) => {
    const { held, started, lab } = await onTab(tab, 'empty');
    await lab.train();
    expect(held).toHaveLength(1);
    expect(started).toHaveLength(0);
    expect(lab.phase).toBe('idle');
    expect(lab.error?.message).toMatch(tab.field);
    // The view turns Train off and shows the same sentence beside it.
    expect(lab.inputs.problem).toMatch(tab.field);
  });

  it('trains a target already used without asking for it again', async () => {
    const { held, started, answer } = fakeLab();
    const lab = useLabStore();
    lab.mode = 'csv';
    lab.csvFile = '/data/table.csv';
    void lab.showTarget();
    await answer(0);
    await lab.train();
    expect(held).toHaveLength(1);
    expect(started.map((s) => s.target)).toEqual([{ kind: 'csv', file: '/data/table.csv' }]);
  });

  it('uses points drawn after the drawing was shown: the shown target keeps the drawing it was', async () => {
    const { held, started, answer } = fakeLab();
    const lab = useLabStore();
    lab.mode = 'draw';
    lab.drawn.push([0, 0]);
    void lab.showTarget();
    await answer(0);
    lab.drawn.push([1, 1]);
    expect(lab.target).toEqual({ kind: 'points', points: [[0, 0]] });
    const training = lab.train();
    await settle();
    await answer(1);
    await training;
    expect(held).toHaveLength(2);
    expect(started.map((s) => s.target)).toEqual([{ kind: 'points', points: [[0, 0], [1, 1]] }]);
  });

  it('fits a typed target rather than distil a teacher of the target shown before', async () => {
    const { started, answer } = fakeLab();
    const lab = useLabStore();
    void lab.showTarget();
    await answer(0);
    lab.chooseTeacher('maf-1');
    expect(lab.distilling).toBe('maf-1');
    lab.mode = 'expression';
    lab.expression = 'x^2 + y';
    // The view's label and family now say Train, not Distil: the teacher belongs to the checkerboard.
    expect(lab.distilling).toBeNull();
    const training = lab.train();
    await settle();
    await answer(1);
    await training;
    expect(started.map((s) => s.target)).toEqual([{ kind: 'expression', expression: 'x^2 + y' }]);
    expect(lab.teacher).toBeNull();
  });
});
