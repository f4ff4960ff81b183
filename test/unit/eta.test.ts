// The ETA is held back until the pace is steady (main/engine/train/eta.ts): not from the first
// steps (tracing, warm-up), not while the pace still changes, and it stays once shown.
import { describe, expect, it } from 'vitest';
import { EtaEstimator } from '../../main/engine/train/eta.ts';

function steps(eta: EtaEstimator, from: number, intervals: number[]): number {
  let t = from;
  for (const dt of intervals) eta.stepEnded((t += dt));
  return t;
}

describe('EtaEstimator', () => {
  it('says nothing before ten intervals, then the steps left at the mean pace', () => {
    const eta = new EtaEstimator();
    eta.stepEnded(0);
    steps(eta, 0, Array(9).fill(0.5));
    expect(eta.secondsLeft(100)).toBeNull();
    steps(eta, 4.5, [0.5]);
    expect(eta.secondsLeft(100)).toBeCloseTo(50, 6);
    expect(eta.secondsLeft(100, 20)).toBe(20);
    expect(eta.secondsLeft(0)).toBe(0);
  });

  it('ignores a slow first step (tracing) and an evaluation now and then', () => {
    const eta = new EtaEstimator();
    eta.stepEnded(18); // the first step ended 18 s after Start: it is no interval
    steps(eta, 18, [1, 1, 1, 1, 6, 1, 1, 1, 1, 1]);
    expect(eta.secondsLeft(10)).toBeCloseTo(15, 6);
  });

  it('waits while the pace is still changing, and stays shown once it has settled', () => {
    const eta = new EtaEstimator();
    eta.stepEnded(0);
    // Each step faster than the last (caches warming): quartiles far apart.
    let t = steps(eta, 0, [8, 7, 6, 5, 4, 3, 2.5, 2, 1.5, 1, 0.8, 0.6]);
    expect(eta.secondsLeft(100)).toBeNull();
    t = steps(eta, t, Array(16).fill(0.5));
    const settled = eta.secondsLeft(100);
    expect(settled).not.toBeNull();
    // A burst of slow steps moves the figure but does not hide it.
    steps(eta, t, [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
    expect(eta.secondsLeft(100)!).toBeGreaterThan(settled!);
  });
});
