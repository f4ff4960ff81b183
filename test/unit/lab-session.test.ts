// A Lab session from request to saved result: a new model trains, is evaluated against the truth
// and saved; it can be trained further; an energy trains by reverse KL with its ESS; a MAF teacher
// distils into an IAF student; bad requests are refused before any folder exists.
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listLabModels, readLabCurve } from '../../main/engine/lab/lab-store.ts';
import { runLabSession } from '../../main/engine/lab/lab-session.ts';

const small = { layers: 2, hidden: 16, batch: 128, lr: 5e-3 };

describe('Lab session', () => {
  it('trains, evaluates against the truth, saves, and trains further', async () => {
    const runsDir = await mkdtemp(join(tmpdir(), 'lab-session-'));
    const frames: number[] = [];
    const first = await runLabSession(
      { kind: 'new', runsDir, flow: 'realnvp', settings: { ...small, steps: 150 }, target: { kind: 'samples', name: '8gaussians' } },
      { onFrame: (f) => frames.push(f.step), frame: { res: 16, samples: 50 } },
    );
    expect(first.ended).toBe('steps');
    expect(first.json.step).toBe(150);
    const { testNll, klToTruth, klSe, sampleMs, densityMs } = first.result;
    expect(testNll).toBeGreaterThan(0);
    // KL(p||q) = E_p[log p] - E_p[log q]: here the entropy of 8 Gaussians plus... at least positive, and consistent with the NLL.
    expect(klToTruth).toBeGreaterThan(-3 * klSe!);
    expect(klSe).toBeGreaterThan(0);
    expect(sampleMs).toBeGreaterThan(0);
    expect(densityMs).toBeGreaterThan(0);
    expect(frames.at(-1)).toBe(150);
    expect((await readdir(first.dir)).sort()).toEqual(['curve.jsonl', 'model.json', 'result.json', 'weights.safetensors']);

    const again = await runLabSession({ kind: 'continue', runsDir, id: first.id, steps: 250 });
    expect(again.json.step).toBe(250);
    const curve = await readLabCurve(first.dir);
    expect(curve.map((p) => p.step)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(again.result.testNll!).toBeLessThan(testNll! + 0.5);
    expect((await listLabModels(runsDir)).models.map((m) => m.id)).toEqual([first.id]);
  });

  it('an energy trains by reverse KL, reporting KL and the ESS', async () => {
    const runsDir = await mkdtemp(join(tmpdir(), 'lab-session-'));
    const { result, json } = await runLabSession({ kind: 'new', runsDir, flow: 'iaf', settings: { ...small, steps: 100 }, target: { kind: 'energy', name: 'mixture' } });
    expect(json.settings.objective).toBe('reverse-kl');
    expect(result.ess).toBeGreaterThan(0);
    expect(result.ess).toBeLessThanOrEqual(1);
    expect(result.klToTruth).toBeGreaterThan(-3 * result.klSe!);
    expect(result.testNll).toBeNull();
  });

  it('distils a MAF teacher into an IAF student, with the KL to the teacher falling', async () => {
    const runsDir = await mkdtemp(join(tmpdir(), 'lab-session-'));
    const teacher = await runLabSession({ kind: 'new', runsDir, id: 'teacher', flow: 'maf', settings: { ...small, steps: 150 }, target: { kind: 'samples', name: '8gaussians' } });
    const short = await runLabSession({ kind: 'new', runsDir, id: 'student', flow: 'iaf', settings: { ...small, steps: 5 }, target: { kind: 'model', id: teacher.id } });
    const longer = await runLabSession({ kind: 'continue', runsDir, id: 'student', steps: 200 });
    expect(longer.result.klToTruth!).toBeLessThan(short.result.klToTruth! - 3 * (short.result.klSe! + longer.result.klSe!));
  });

  it('evaluates during training when asked, by training time or step', async () => {
    const runsDir = await mkdtemp(join(tmpdir(), 'lab-session-'));
    const seen: { step: number; seconds: number }[] = [];
    const out = await runLabSession(
      { kind: 'new', runsDir, flow: 'realnvp', settings: { ...small, steps: 1_000_000, minutes: 0.02 }, target: { kind: 'samples', name: 'rings' } },
      { evaluateAt: { steps: [0, 10], seconds: [0.6] }, onEvaluation: (e) => { seen.push(e); expect(e.result.klToTruth).not.toBeNull(); } },
    );
    expect(out.ended).toBe('minutes');
    expect(seen.map((e) => e.step).slice(0, 2)).toEqual([0, 10]);
    expect(seen).toHaveLength(3);
    expect(seen[2].seconds).toBeGreaterThanOrEqual(0.6);
    expect(seen[2].step).toBeLessThan(out.json.step);
  });

  it('refuses a family that cannot train by the objective, and bad settings, before creating anything', async () => {
    const runsDir = await mkdtemp(join(tmpdir(), 'lab-session-'));
    await expect(runLabSession({ kind: 'new', runsDir, flow: 'maf', settings: {}, target: { kind: 'energy', name: 'u1' } })).rejects.toThrow(/MAF cannot train by reverse KL.*Families that can: .*iaf/);
    await expect(runLabSession({ kind: 'new', runsDir, flow: 'realnvp', settings: { hidden: 0 }, target: { kind: 'samples', name: 'rings' } })).rejects.toThrow(/hidden must be a whole number from 2 to 512, got 0/);
    await expect(runLabSession({ kind: 'new', runsDir, flow: 'realnvp', settings: {}, target: { kind: 'expression', expression: 'x +' } })).rejects.toThrow(/expected/i);
    await expect(runLabSession({ kind: 'continue', runsDir, id: 'nothing' })).rejects.toThrow(/no Lab model/);
    expect(await readdir(runsDir)).toEqual([]);
  });

  it('a stop request ends training with the model saved at the step reached', async () => {
    const runsDir = await mkdtemp(join(tmpdir(), 'lab-session-'));
    const stop = new AbortController();
    const out = await runLabSession(
      { kind: 'new', runsDir, flow: 'nice', settings: { ...small, steps: 100_000 }, target: { kind: 'samples', name: 'moons' } },
      { signal: stop.signal, onStep: (r) => { if (r.step === 30) stop.abort(); } },
    );
    expect(out.ended).toBe('stopped');
    expect(out.json.step).toBe(30);
    expect(out.result.klToTruth).toBeNull();
    expect(out.result.testNll).not.toBeNull();
  });
});

describe('Lab defaults per family', () => {
  it('a family too slow at the common size starts smaller, and given settings still win', async () => {
    const { labDefaults, labFields } = await import('../../common/lab/lab-fields.ts');
    expect(labDefaults('realnvp').hidden).toBe(labFields.hidden.default);
    expect(labDefaults('residual')).toMatchObject({ layers: 4, hidden: 32, batch: 256 });
    const runsDir = await mkdtemp(join(tmpdir(), 'lab-session-'));
    const out = await runLabSession({ kind: 'new', runsDir, flow: 'residual', settings: { hidden: 8, steps: 2 }, target: { kind: 'samples', name: 'rings' } });
    expect(out.json.settings).toMatchObject({ layers: 4, hidden: 8, batch: 256, steps: 2 });
  });
});
