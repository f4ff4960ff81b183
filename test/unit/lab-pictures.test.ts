// The Lab's still pictures: a target's histogram is a density (it integrates to the share of samples
// inside its box), the truth is used where known; the flow picture starts at the base grid and
// samples, ends where the model's samples are, and carries velocity arrows for continuous families;
// a table's ranking puts an outlier first. Target keys tell targets apart.
import { describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { Rng } from '../../main/engine/random.ts';
import { buildLabModel } from '../../main/engine/lab/lab-flows.ts';
import { flowPicture, targetPicture } from '../../main/engine/lab/lab-pictures.ts';
import { rankTableRows } from '../../main/engine/lab/lab-rank.ts';
import { normalPoints } from '../../main/engine/lab/normal.ts';
import { parseCsvTable } from '../../main/engine/lab/targets/csv-table.ts';
import { resolveTarget } from '../../main/engine/lab/targets/index.ts';
import { labTargetKey, labTargetLabel } from '../../common/lab/lab-target-label.ts';
import { expectClose } from '../helpers/expect-close.ts';
import { labSettings } from '../helpers/lab-settings.ts';

describe('Lab pictures', () => {
  it('a histogram integrates to one over a box holding the samples; the truth is used where known', async () => {
    const moons = await resolveTarget({ kind: 'samples', name: 'moons' }, new Rng(0));
    const p = targetPicture(moons, new Rng(1), 40, 100);
    expect(p.density!.from).toBe('histogram');
    expect(p.samples).toHaveLength(200);
    const [[x0, x1], [y0, y1]] = p.density!.box;
    const cell = ((x1 - x0) * (y1 - y0)) / 1600;
    expect(p.density!.logp.reduce((s, v) => s + Math.exp(v) * cell, 0)).toBeCloseTo(1, 2);
    const board = targetPicture(await resolveTarget({ kind: 'samples', name: 'checkerboard' }, new Rng(0)), new Rng(1), 8, 10);
    // Checkerboard on [-4, 4]²: an 8×8 grid has one cell per square, alternately 1/32 and empty.
    expect(board.density!.from).toBe('truth');
    const finite = Array.from(board.density!.logp).filter(Number.isFinite);
    expect(finite).toHaveLength(32);
    for (const v of finite) expect(v).toBeCloseTo(-Math.log(32), 5);
  });

  it('pushes the base grid and samples to the model\'s samples, layer by layer', () => {
    const model = buildLabModel('realnvp', labSettings({ layers: 2, hidden: 8 }), 2, new Rng(3));
    const p = flowPicture(model, 7, { perSide: 3, linePoints: 5, samples: 20 });
    const gridLength = 2 * p.lines * p.linePoints;
    expect(p.stages[0].points.subarray(0, 4)).toEqual(Float32Array.from([-3, -3, -1.5, -3]));
    const base = normalPoints(20, 2, new Rng(7));
    expectClose(p.stages[0].points.subarray(gridLength), base.dataSync(), 1e-6);
    const pushed = tf.tidy(() => model.sample(20, { mode: 'eval', rng: new Rng(0) }, base).x.dataSync());
    expectClose(p.stages.at(-1)!.points.subarray(gridLength), pushed, 1e-4);
    expect(p.stages.every((s) => s.t === null && s.velocity === null)).toBe(true);
    expect(p.arrows).toBeNull();
    base.dispose();
    model.dispose();
  });

  it('gives continuous families their time and velocity arrows at every stage', () => {
    const model = buildLabModel('flow-matching', labSettings({ hidden: 8, odeSteps: 3 }), 2, new Rng(3));
    const before = tf.memory().numTensors;
    const p = flowPicture(model, 7, { perSide: 3, linePoints: 5, samples: 10, arrowsPerSide: 4 });
    expect(tf.memory().numTensors).toBe(before);
    expect(p.stages.map((s) => s.t)).toEqual([0, 1 / 3, 2 / 3, 1]);
    expect(p.arrows).toHaveLength(32);
    for (const s of p.stages) expect(s.velocity).toHaveLength(32);
    model.dispose();
  });

  it('ranks a table\'s rows with the outlier first, in the file\'s units', () => {
    const lines = Array.from({ length: 40 }, (_, i) => `${(i % 5) / 10},${((i * 7) % 5) / 10}`);
    lines[9] = '30,-30';
    const table = parseCsvTable(lines.join('\n'), 'rows.csv', new Rng(0));
    const model = buildLabModel('realnvp', labSettings({ layers: 2, hidden: 8 }), 2, new Rng(0));
    const ranked = rankTableRows(model, table);
    expect(ranked).toHaveLength(40);
    expect(ranked[0]).toMatchObject({ line: 10 });
    expectClose(Float32Array.from(ranked[0].values), Float32Array.from([30, -30]), 1e-3);
    expect(ranked.filter((r) => r.heldOut)).toHaveLength(4);
    model.dispose();
  });

  it('names targets and keys them so the same target matches and another does not', () => {
    expect(labTargetLabel({ kind: 'samples', name: 'rings' })).toBe('Rings');
    expect(labTargetKey({ kind: 'points', points: [[0, 1], [2, 3]] })).toBe(labTargetKey({ kind: 'points', points: [[0, 1], [2, 3]] }));
    expect(labTargetKey({ kind: 'points', points: [[0, 1], [2, 3]] })).not.toBe(labTargetKey({ kind: 'points', points: [[0, 1], [2, 4]] }));
    expect(labTargetKey({ kind: 'expression', expression: 'x ^ 2' })).toBe(labTargetKey({ kind: 'expression', expression: 'x^2' }));
  });
});
