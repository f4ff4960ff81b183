// Lab energies: Rezende & Mohamed's U1-U4 and the mixture match their formulas, are
// differentiable, and are normalised on a grid (log Z against closed forms where one exists).
import { describe, expect, it } from 'vitest';
import * as tf from '../../main/engine/tf.ts';
import { Rng } from '../../main/engine/random.ts';
import { ENERGIES, MIXTURE, WALL_SCALE } from '../../main/engine/lab/targets/energies.ts';
import { LOG_Z_CELLS, energyAt, gridLogZ } from '../../main/engine/lab/targets/energy-grid.ts';
import { resolveTarget } from '../../main/engine/lab/targets/index.ts';
import { expectClose } from '../helpers/expect-close.ts';

/** The paper's formulas in float64, inside the box (where no wall applies). */
const gauss = (v: number, s: number) => Math.exp(-0.5 * (v / s) ** 2);
const w1 = (z1: number) => Math.sin((Math.PI * z1) / 2);
const w2 = (z1: number) => 3 * gauss(z1 - 1, 0.6);
const w3 = (z1: number) => 3 / (1 + Math.exp(-(z1 - 1) / 0.3));
const REFERENCE = {
  u1: (a: number, b: number) => 0.5 * ((Math.hypot(a, b) - 2) / 0.4) ** 2 - Math.log(gauss(a - 2, 0.6) + gauss(a + 2, 0.6)),
  u2: (a: number, b: number) => 0.5 * ((b - w1(a)) / 0.4) ** 2,
  u3: (a: number, b: number) => -Math.log(gauss(b - w1(a), 0.35) + gauss(b - w1(a) + w2(a), 0.35)),
  u4: (a: number, b: number) => -Math.log(gauss(b - w1(a), 0.4) + gauss(b - w1(a) + w3(a), 0.35)),
};

describe('Lab energies', () => {
  const rng = new Rng(4);
  const points = Float32Array.from({ length: 64 }, () => rng.next() * 7 - 3.5);

  for (const name of ['u1', 'u2', 'u3', 'u4'] as const) {
    it(`${name} matches Rezende & Mohamed's table 1 and has finite gradients`, () => {
      const reference = Float64Array.from({ length: 32 }, (_, i) => REFERENCE[name](points[2 * i], points[2 * i + 1]));
      expectClose(energyAt(ENERGIES[name].u, points), reference, 1e-4, 1e-5);
      const g = tf.tidy(() => tf.grad((z: tf.Tensor) => tf.sum(ENERGIES[name].u(z as tf.Tensor2D)))(tf.tensor2d(points, [32, 2])).dataSync());
      expect(g.every(Number.isFinite)).toBe(true);
    });
  }

  it('U1 has a finite gradient at the origin', () => {
    const g = tf.tidy(() => tf.grad((z: tf.Tensor) => tf.sum(ENERGIES.u1.u(z as tf.Tensor2D)))(tf.zeros([1, 2])).dataSync());
    expect(Array.from(g).every(Number.isFinite)).toBe(true);
  });

  it('U2-U4 are walled in z1 outside [-4, 4], and only there', () => {
    for (const name of ['u2', 'u3', 'u4'] as const) {
      const [inside, outside] = energyAt(ENERGIES[name].u, [3.9, 0, 4.5, 0]);
      expectClose(inside, REFERENCE[name](3.9, 0), 1e-4);
      expectClose(outside - REFERENCE[name](4.5, 0), 0.5 * (0.5 / WALL_SCALE) ** 2, 1e-3);
    }
  });

  it('the mixture energy is -log of its normalised mixture', () => {
    const [x, y] = [0.3, -0.7];
    const { weights, means, std } = MIXTURE;
    const p = weights.reduce((sum, w, k) => sum + (w * gauss(x - means[k][0], std) * gauss(y - means[k][1], std)) / (2 * Math.PI * std * std), 0);
    expectClose(energyAt(ENERGIES.mixture.u, [x, y]), [-Math.log(p)], 1e-5);
  });

  it('log Z: U2 and the mixture match their closed forms, and a finer grid changes no energy', () => {
    // U2: ∫ over z2 is 0.4√(2π) for every z1; over z1 the box's 8 plus the wall's two half-Gaussians.
    const u2 = Math.log((8 + 2 * WALL_SCALE * Math.sqrt(Math.PI / 2)) * 0.4 * Math.sqrt(2 * Math.PI));
    expectClose(gridLogZ(ENERGIES.u2.u, ENERGIES.u2.bounds, 'u2'), u2, 1e-6);
    expectClose(gridLogZ(ENERGIES.mixture.u, ENERGIES.mixture.bounds, 'mixture'), 0, 1e-6);
    for (const name of ['u1', 'u3', 'u4'] as const) {
      const { u, bounds } = ENERGIES[name];
      expectClose(gridLogZ(u, bounds, name), gridLogZ(u, bounds, name, Math.round(1.5 * LOG_Z_CELLS)), 1e-6);
    }
  });

  it('an energy target: log p = -U - log Z, and evaluating it frees its tensors', async () => {
    const target = await resolveTarget({ kind: 'energy', name: 'u3' }, new Rng(0));
    const before = tf.memory().numTensors;
    const logP = target.logDensity!(points);
    expect(tf.memory().numTensors).toBe(before);
    expectClose(logP, energyAt(ENERGIES.u3.u, points).map((u) => -u - target.logZ!), 1e-9);
    expect(target.bounds).toEqual(ENERGIES.u3.bounds);
  });
});
