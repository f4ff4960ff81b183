// The seeded generator's draws are part of every checkpoint's promise: a run resumed from a saved
// state (its two 32-bit halves) draws what the uninterrupted run would have, batches and noise
// alike, so the values here were taken from the generator as it was when those states were saved.
import { describe, expect, it } from 'vitest';
import { Rng, type RngState } from '../../main/engine/random.ts';

const draws = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.nextUint32());

describe('Rng', () => {
  it('draws the values it always has, from a number seed, a seed past 2^32 and a state whose low half carries', () => {
    const cases: [number | RngState, number[], RngState][] = [
      [0, [590134439, 776956096, 3756378615], { hi: 2111796288, lo: 3668340011 }],
      [2 ** 40 + 12345, [983139330, 2524309072, 721292374], { hi: 2111796544, lo: 3668352356 }],
      [{ hi: 0xffffffff, lo: 0xfffffff0 }, [3169694591, 903159275, 3889333010], { hi: 2111796288, lo: 3668339995 }],
    ];
    for (const [seed, values, state] of cases) {
      const rng = new Rng(seed);
      expect(draws(rng, 3)).toEqual(values);
      expect(rng.state).toEqual(state);
    }
  });

  it('continues from a saved state exactly as without the interruption', () => {
    const straight = new Rng(7);
    const resumed = new Rng(7);
    draws(straight, 1000);
    draws(resumed, 1000);
    const restored = new Rng(resumed.state);
    expect(draws(restored, 1000)).toEqual(draws(straight, 1000));
  });

  it('fills uniforms over [offset, offset + scale)', () => {
    const out = new Rng(3).fillUniform(new Float32Array(10_000), 2, -1);
    expect(Math.min(...out)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...out)).toBeLessThan(1);
    // A uniform on [-1, 1) has mean 0 and standard deviation 1/sqrt(3): the mean of 10,000 is within 4 standard errors of 0.
    expect(Math.abs(out.reduce((a, b) => a + b, 0) / out.length)).toBeLessThan(4 / Math.sqrt(3) / 100);
  });
});
