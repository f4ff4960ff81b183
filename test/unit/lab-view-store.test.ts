// The Lab store against a fake Api whose target pictures answer when the test says: Train pressed
// while a chosen target is still on its way trains on that target (not the one shown before, whose
// table the view no longer shows), a target refused meanwhile trains nothing, and of two targets
// whose answers cross the later choice is shown.
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
    // Let the store's awaits after the answer run.
    for (let k = 0; k < 10; k++) await Promise.resolve();
  };
  return { held, started, answer };
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
