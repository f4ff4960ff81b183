// KL to truth: zero for a density against itself, the closed form between two Gaussians within
// three standard errors in both directions, and importance-weight ESS of 1 when q = p.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../main/engine/random.ts';
import { KL_SAMPLES, effectiveSampleFraction, forwardKl, meanWithSe, reverseKl } from '../../main/engine/lab/kl.ts';
import { MIXTURE } from '../../main/engine/lab/targets/energies.ts';
import { resolveTarget, type Target } from '../../main/engine/lab/targets/index.ts';
import { expectClose } from '../helpers/expect-close.ts';

/** An isotropic Gaussian N(mean, std² I) in 2D: its log-density and seeded draws. */
function gaussian(mean: [number, number], std: number) {
  const logDensity = (points: ArrayLike<number>) =>
    Float64Array.from({ length: points.length / 2 }, (_, i) => {
      const d2 = (points[2 * i] - mean[0]) ** 2 + (points[2 * i + 1] - mean[1]) ** 2;
      return -d2 / (2 * std * std) - Math.log(2 * Math.PI * std * std);
    });
  const sample = (n: number, rng: Rng) => Float32Array.from({ length: 2 * n }, (_, k) => mean[k % 2] + std * rng.normal());
  return { logDensity, sample };
}

/** KL(N(m0, s0² I) ‖ N(m1, s1² I)) in 2D. */
function gaussianKl(m0: [number, number], s0: number, m1: [number, number], s1: number): number {
  const d2 = (m0[0] - m1[0]) ** 2 + (m0[1] - m1[1]) ** 2;
  return 2 * Math.log(s1 / s0) + (2 * s0 * s0 + d2) / (2 * s1 * s1) - 1;
}

const standard: Target = { kind: 'samples', dim: 2, label: 'N(0, I)', bounds: [[-4, 4], [-4, 4]], ...gaussian([0, 0], 1) };

describe('Lab KL to truth', () => {
  it('the mean and its standard error', () => {
    const { value, se, n } = meanWithSe([1, 2, 3, 4]);
    expect([value, n]).toEqual([2.5, 4]);
    expectClose(se, Math.sqrt(5 / 3 / 4), 1e-12);
  });

  it('a known density against itself: KL 0 both ways, ESS 1', async () => {
    const rings = await resolveTarget({ kind: 'samples', name: 'rings' }, new Rng(0));
    const forward = forwardKl(rings, (p) => rings.logDensity!(p), new Rng(1));
    expect([forward.value, forward.n]).toEqual([0, KL_SAMPLES]);
    const points = rings.sample!(5000, new Rng(2));
    const reverse = reverseKl(rings, { points, logQ: rings.logDensity!(points) });
    expect(Math.abs(reverse.value)).toBeLessThanOrEqual(3 * reverse.se);
    expect(reverse.ess).toBe(1);
  });

  it('between two Gaussians: the closed form within 3 standard errors, both directions', () => {
    const q = gaussian([0.5, -0.3], 1.3);
    const forward = forwardKl(standard, q.logDensity, new Rng(3));
    const exactForward = gaussianKl([0, 0], 1, [0.5, -0.3], 1.3);
    expect(Math.abs(forward.value - exactForward), `${forward.value} ± ${forward.se} vs ${exactForward}`).toBeLessThan(3 * forward.se);
    const points = q.sample(KL_SAMPLES, new Rng(4));
    const reverse = reverseKl(standard, { points, logQ: q.logDensity(points) });
    const exactReverse = gaussianKl([0.5, -0.3], 1.3, [0, 0], 1);
    expect(Math.abs(reverse.value - exactReverse), `${reverse.value} ± ${reverse.se} vs ${exactReverse}`).toBeLessThan(3 * reverse.se);
    expect(reverse.ess).toBeGreaterThan(0);
    expect(reverse.ess).toBeLessThan(1);
  });

  it('a far-off model is far: the estimate is not stuck at zero', () => {
    const far = forwardKl(standard, gaussian([3, 0], 0.5).logDensity, new Rng(5));
    expect(far.value).toBeGreaterThan(10);
  });

  it('an energy target: reverse KL of its own normalised density is 0 and ESS 1', async () => {
    const target = await resolveTarget({ kind: 'energy', name: 'mixture' }, new Rng(0));
    const rng = new Rng(6);
    const { weights, means, std } = MIXTURE;
    const n = 4000;
    const points = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      const k = u < weights[0] ? 0 : u < weights[0] + weights[1] ? 1 : 2;
      points[2 * i] = means[k][0] + std * rng.normal();
      points[2 * i + 1] = means[k][1] + std * rng.normal();
    }
    const logQ = Float64Array.from({ length: n }, (_, i) =>
      Math.log(weights.reduce((sum, w, k) => sum + (w * Math.exp(-((points[2 * i] - means[k][0]) ** 2 + (points[2 * i + 1] - means[k][1]) ** 2) / (2 * std * std))) / (2 * Math.PI * std * std), 0)));
    const estimate = reverseKl(target, { points, logQ });
    expect(Math.abs(estimate.value)).toBeLessThan(1e-4);
    expect(estimate.ess).toBeGreaterThan(0.9999);
  });

  it('effective sample fraction: equal weights give 1, one dominant weight gives 1/n', () => {
    expect(effectiveSampleFraction([-3, -3, -3, -3])).toBe(1);
    expectClose(effectiveSampleFraction([0, -800, -800, -800]), 0.25, 1e-12);
    expect(effectiveSampleFraction([-Infinity, -Infinity])).toBe(0);
  });

  it('refuses a target without a known density', async () => {
    const moons = await resolveTarget({ kind: 'samples', name: 'moons' }, new Rng(0));
    expect(() => forwardKl(moons, standard.logDensity!, new Rng(0))).toThrow(/Two moons has no known density .* compare test NLL/);
  });
});
