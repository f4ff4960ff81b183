// Lab sample targets: ffjord's samplers draw what their definitions imply (moments, histograms
// against the true densities), the true densities integrate to one, and resolveTarget builds
// every kind of target.
import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_SAMPLE_TARGETS, type LabSampleTargetName, type LabTargetSpec } from '../../common/lab/lab-catalog.ts';
import { Rng } from '../../main/engine/random.ts';
import { logIntegral, planeGrid, widen } from '../../main/engine/lab/targets/grid.ts';
import { resolveTarget, type Target } from '../../main/engine/lab/targets/index.ts';
import { logScaledBesselI0 } from '../../main/engine/lab/targets/toy-densities.ts';
import { TOY_SAMPLERS } from '../../main/engine/lab/targets/toy-samplers.ts';
import { drawnPointsTarget } from '../../main/engine/lab/targets/drawn-points.ts';
import { imageTarget } from '../../main/engine/lab/targets/image-density.ts';
import { expectClose } from '../helpers/expect-close.ts';

const sampleTarget = (name: LabSampleTargetName) => resolveTarget({ kind: 'samples', name }, new Rng(0));

/** ∫ p over `bounds` widened by 1, by the midpoint rule with cells of side 0.02. */
function totalMass(target: Target): number {
  const box = widen(target.bounds, 1);
  const grid = planeGrid(box, Math.round((box[0][1] - box[0][0]) / 0.02));
  return Math.exp(logIntegral(target.logDensity!(grid.points), grid));
}

/**
 * Pearson's chi-square per degree of freedom between a sampler's histogram on 16 x 16 cells of
 * [-4, 4]² (plus one bin for the rest) and the cells' probabilities under the density (midpoint
 * rule, 20 x 20 sub-cells per cell). Cells expecting under 5 points are pooled into the rest.
 */
function chiSquarePerDof(target: Target, n: number, seed: number): number {
  const cells = 16;
  const sub = 20;
  const fine = planeGrid([[-4, 4], [-4, 4]], cells * sub);
  const logP = target.logDensity!(fine.points);
  const prob = new Float64Array(cells * cells);
  logP.forEach((lp, k) => {
    const [i, j] = [Math.floor(k / (cells * sub)), k % (cells * sub)];
    prob[Math.floor(i / sub) * cells + Math.floor(j / sub)] += Math.exp(lp) * fine.cellArea;
  });
  const counts = new Float64Array(cells * cells);
  let outside = 0;
  const points = target.sample!(n, new Rng(seed));
  for (let k = 0; k < n; k++) {
    const [j, i] = [Math.floor((points[2 * k] + 4) / 0.5), Math.floor((points[2 * k + 1] + 4) / 0.5)];
    if (i >= 0 && i < cells && j >= 0 && j < cells) counts[i * cells + j]++;
    else outside++;
  }
  let chi2 = 0;
  let bins = 0;
  let restObserved = outside;
  let restExpected = n * (1 - prob.reduce((a, b) => a + b, 0));
  prob.forEach((p, c) => {
    if (n * p < 5) {
      restObserved += counts[c];
      restExpected += n * p;
      return;
    }
    chi2 += (counts[c] - n * p) ** 2 / (n * p);
    bins++;
  });
  if (restExpected >= 5) {
    chi2 += (restObserved - restExpected) ** 2 / restExpected;
    bins++;
  } else {
    expect(restObserved).toBeLessThan(5 + 5 * Math.sqrt(Math.max(restExpected, 1)));
  }
  return chi2 / (bins - 1);
}

/** Mean of f over the rows of a sampler's draw, with its standard error. */
function meanOf(points: Float32Array, f: (x: number, y: number) => number): { mean: number; se: number } {
  const n = points.length / 2;
  const v = Float64Array.from({ length: n }, (_, k) => f(points[2 * k], points[2 * k + 1]));
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n) };
}

function expectWithin3Se(points: Float32Array, f: (x: number, y: number) => number, expected: number): void {
  const { mean, se } = meanOf(points, f);
  expect(Math.abs(mean - expected), `mean ${mean} vs ${expected} (se ${se})`).toBeLessThan(3 * se);
}

describe('Lab toy samplers (ffjord lib/toy_data.py)', () => {
  it('draw exactly n finite points, the same for the same seed', () => {
    for (const name of Object.keys(LAB_SAMPLE_TARGETS) as LabSampleTargetName[]) {
      for (const n of [1, 7, 200]) {
        const a = TOY_SAMPLERS[name](n, new Rng(5));
        expect(a.length, name).toBe(2 * n);
        expect(a.every(Number.isFinite), name).toBe(true);
        expect(Array.from(TOY_SAMPLERS[name](n, new Rng(5))), name).toEqual(Array.from(a));
      }
    }
  });

  it("moons: make_moons' moments after toy_data's *2 + (-1, -0.2)", () => {
    const points = TOY_SAMPLERS.moons(40_000, new Rng(1));
    expectWithin3Se(points, (x) => x, 0);
    expectWithin3Se(points, (_, y) => y, 0.3);
    // E[x²] = 3 on both moons plus the noise (2·0.1)²; E[y²] = ((2 - 1.6/π + .04) + (2.64 - 6.4/π))/2 + .04.
    expectWithin3Se(points, (x) => x * x, 3.04);
    expectWithin3Se(points, (_, y) => y * y, (4.68 - 8 / Math.PI) / 2 + 0.04);
  });

  it("swissroll: make_swiss_roll's columns 0 and 2 over 5", () => {
    const points = TOY_SAMPLERS.swissroll(40_000, new Rng(2));
    // t uniform on [1.5π, 4.5π]: E[t cos t] = 2, E[t sin t] = 2/(3π), E[t²] = 9.75π².
    expectWithin3Se(points, (x) => x, 0.4);
    expectWithin3Se(points, (_, y) => y, 2 / (3 * Math.PI) / 5);
    expectWithin3Se(points, (x, y) => x * x + y * y, (9.75 * Math.PI ** 2 + 2) / 25);
  });

  it('pinwheel: radius and the arms turning as toy_data turns them', () => {
    const points = TOY_SAMPLERS.pinwheel(40_000, new Rng(3));
    expectWithin3Se(points, (x, y) => x * x + y * y, 4 * (1 + 0.09 + 0.01));
    // A point of an arm sits at angle -(2πk/5 + 0.25 e^{r/2}) (toy_data's row-vector rotation),
    // so 5 times (angle + 0.25 e^{r/2}) is near a multiple of 2π: cos of it averages ~0.85 (0.18 mirrored).
    const { mean } = meanOf(points, (x, y) => Math.cos(5 * (Math.atan2(y, x) + 0.25 * Math.exp(Math.hypot(x, y) / 2))));
    expect(mean).toBeGreaterThan(0.8);
  });

  it('2spirals: E|x|² of the mirrored spirals', () => {
    const points = TOY_SAMPLERS['2spirals'](40_000, new Rng(4));
    // n = 3π√u: E[n²] = 4.5π², E[n cos n] = -4/(3π), E[n sin n] = 2(9π² - 4)/(9π²); a, b uniform on [0, .5).
    const d2 = 4.5 * Math.PI ** 2 + 0.5 * (4 / (3 * Math.PI)) + 0.5 * ((2 * (9 * Math.PI ** 2 - 4)) / (9 * Math.PI ** 2)) + 2 / 12;
    expectWithin3Se(points, (x, y) => x * x + y * y, d2 / 9 + 0.02);
    expectWithin3Se(points, (x) => x, 0);
  });
});

describe('Lab true densities', () => {
  it('the rings quadrature matches I0 (power series and large-z asymptotics)', () => {
    for (const z of [0, 0.5, 3, 10, 30]) {
      let series = 0;
      let term = 1;
      for (let k = 0; k < 80; k++) {
        series += term;
        term *= (z * z) / 4 / ((k + 1) * (k + 1));
      }
      expectClose(logScaledBesselI0(z), Math.log(series) - z, 1e-10);
    }
    for (const z of [60, 300, 1500, 3000]) {
      const asymptotic = -0.5 * Math.log(2 * Math.PI * z) + Math.log(1 + 1 / (8 * z) + 9 / (128 * z * z) + 225 / (3072 * z ** 3));
      expectClose(logScaledBesselI0(z), asymptotic, 1e-8);
    }
  });

  for (const name of ['checkerboard', '8gaussians', 'rings'] as const) {
    it(`${name}: integrates to 1 and the sampler's histogram matches it`, async () => {
      const target = await sampleTarget(name);
      expect(target.logDensity).toBeDefined();
      expect(Math.abs(totalMass(target) - 1)).toBeLessThan(0.01);
      expect(chiSquarePerDof(target, 40_000, 7)).toBeLessThan(1.5);
    });
  }

  it('checkerboard: every sample lies on the support, at density 1/32', async () => {
    const target = await sampleTarget('checkerboard');
    const logP = target.logDensity!(target.sample!(20_000, new Rng(9)));
    expect(logP.every((v) => v === -Math.log(32))).toBe(true);
    // The square just off the support, and the box's far edge, have no density.
    expect(Array.from(target.logDensity!([1, 1, -3, -1, 4, 0, 0, -4.0001]))).toEqual([-Math.log(32), -Infinity, -Infinity, -Infinity]);
  });

  it('a density with a wrong width fails the histogram check', async () => {
    const truth = await sampleTarget('8gaussians');
    const wider: Target = { ...truth, logDensity: (p) => truth.logDensity!(Float32Array.from(p, (v) => v / 1.1)).map((v) => v - 2 * Math.log(1.1)) };
    expect(chiSquarePerDof(wider, 40_000, 7)).toBeGreaterThan(3);
  });

  it('moons, pinwheel, swiss roll and two spirals have no known density', async () => {
    for (const name of ['moons', 'pinwheel', 'swissroll', '2spirals'] as const) {
      expect((await sampleTarget(name)).logDensity).toBeUndefined();
      expect(LAB_SAMPLE_TARGETS[name].exact).toBe(false);
    }
  });
});

describe('Lab drawn points and images', () => {
  it('drawn points: the KDE integrates to 1 and the jittered samples follow it', () => {
    const target = drawnPointsTarget([[0, 0], [1, 1.5], [-2, 1], [-2.1, 1.1], [2.5, -3]]);
    expect(Math.abs(totalMass(target) - 1)).toBeLessThan(0.01);
    expect(chiSquarePerDof(target, 40_000, 11)).toBeLessThan(1.5);
  });

  it('drawn points: bad input is refused by point number', () => {
    expect(() => drawnPointsTarget([])).toThrow(/none/);
    expect(() => drawnPointsTarget([[0, 0], [1, 2, 3]])).toThrow(/point 2 is not an \(x, y\) pair/);
    expect(() => drawnPointsTarget([[0, NaN]])).toThrow(/point 1 .* not a finite number/);
  });

  it('image: brightness picks pixels (top row up), the density is exact and integrates to 1', () => {
    // 4 wide, 2 high: the top-left pixel is bright, the bottom row dim, one pixel black.
    const pixels = [1, 0.5, 0, 0.25, 0.1, 0.1, 0.2, 0.3];
    const target = imageTarget(4, 2, pixels);
    expect(target.bounds).toEqual([[-4, 4], [-2, 2]]);
    expect(Math.abs(totalMass(target) - 1)).toBeLessThan(0.01);
    const points = target.sample!(40_000, new Rng(12));
    const logP = target.logDensity!(points);
    expect(logP.every(Number.isFinite)).toBe(true);
    const counts = new Float64Array(8);
    for (let k = 0; k < 40_000; k++) counts[Math.floor((2 - points[2 * k + 1]) / 2) * 4 + Math.floor((points[2 * k] + 4) / 2)]++;
    const total = pixels.reduce((a, b) => a + b, 0);
    pixels.forEach((b, i) => {
      const p = b / total;
      expect(Math.abs(counts[i] / 40_000 - p)).toBeLessThanOrEqual(4 * Math.sqrt((p * (1 - p)) / 40_000));
    });
    // The top-left pixel (x in [-4, -2), y in (0, 2]) has density 1 / (total · 4).
    const [bright, black] = target.logDensity!([-3, 1, 1, 1]);
    expectClose(bright, -Math.log(total * 4), 1e-12);
    expect(black).toBe(-Infinity);
  });

  it('image: bad input is refused with what to fix', () => {
    expect(() => imageTarget(2, 2, [0, 0, 0, 0])).toThrow(/black everywhere/);
    expect(() => imageTarget(2, 2, [0, 1, 2, 0])).toThrow(/pixel 2 \(row 1, column 0\)/);
    expect(() => imageTarget(3, 2, [1, 1])).toThrow(/needs 6 brightness values, got 2/);
  });
});

describe('resolveTarget', () => {
  it('builds every kind of target', async () => {
    const rng = new Rng(0);
    const folder = await mkdtemp(join(tmpdir(), 'lab-targets-'));
    const file = join(folder, 'table.csv');
    await writeFile(file, 'a,b,c\n' + Array.from({ length: 30 }, (_, i) => `${i},${i % 7},${(i * i) % 11}`).join('\n'));
    const cases: [LabTargetSpec, Target['kind'], number][] = [
      [{ kind: 'samples', name: 'rings' }, 'samples', 2],
      [{ kind: 'points', points: [[0, 0]] }, 'samples', 2],
      [{ kind: 'image', width: 1, height: 1, pixels: [1] }, 'samples', 2],
      [{ kind: 'csv', file }, 'samples', 3],
      [{ kind: 'energy', name: 'mixture' }, 'energy', 2],
      [{ kind: 'expression', expression: '(x^2 + y^2) / 2' }, 'energy', 2],
    ];
    for (const [spec, kind, dim] of cases) {
      const target = await resolveTarget(spec, rng);
      expect([target.kind, target.dim], spec.kind).toEqual([kind, dim]);
      expect(target.bounds.length).toBe(dim);
      if (kind === 'energy') expect(Number.isFinite(target.logZ)).toBe(true);
      else expect(target.sample!(5, rng).length).toBe(5 * dim);
    }
  });

  it('refuses unknown names, listing the known ones', async () => {
    await expect(resolveTarget({ kind: 'samples', name: 'spiral' as LabSampleTargetName }, new Rng(0))).rejects.toThrow(/Unknown sample target 'spiral'.*checkerboard/);
    await expect(resolveTarget({ kind: 'energy', name: 'u9' as 'u1' }, new Rng(0))).rejects.toThrow(/Unknown energy 'u9'.*u1, u2/);
  });
});
