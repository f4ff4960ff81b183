// The PyTorch TarFlow reference (bench/pytorch_tarflow.py) is itself a correct flow, before its
// likelihoods are trusted to check FlowDesk's: inverse, log-determinant and causal mask, measured
// by bench/pytorch_tarflow_checks.py. Skipped without a python3 that imports torch; fails under CI=true.
import { beforeAll, describe, expect, it } from 'vitest';
import { requireTorchInCi, RUN_LIMIT_MS, runTorchScript, torchSkipReason } from '../helpers/torch-reference.ts';

interface Checks {
  inverse: { latent_moved: number; cached_max_err: number; uncached_max_err: number; cached_vs_uncached: number };
  logdet: { model: number; jacobian: number };
  causal: { earlier_max_change: number; later_min_change: number };
}

requireTorchInCi();

describe.skipIf(torchSkipReason !== '')(`the PyTorch TarFlow reference${torchSkipReason ? ` — skipped: ${torchSkipReason}` : ''}`, () => {
  let checks: Checks;
  beforeAll(() => {
    const lines = runTorchScript('pytorch_tarflow_checks.py') as { check: keyof Checks }[];
    checks = Object.fromEntries(lines.map((line) => [line.check, line])) as unknown as Checks;
  }, RUN_LIMIT_MS);

  it('inverts its forward pass on the cached and the uncached path alike', () => {
    const c = checks.inverse;
    expect(c.latent_moved).toBeGreaterThan(0.1); // the perturbed blocks are far from the identity
    expect(c.cached_max_err).toBeLessThan(1e-4);
    expect(c.uncached_max_err).toBeLessThan(1e-4);
    expect(c.cached_vs_uncached).toBeLessThan(1e-4);
  });

  it('has the log-determinant of its brute-force Jacobian', () => {
    const c = checks.logdet;
    expect(Math.abs(c.model)).toBeGreaterThan(1); // not a volume-preserving map by accident
    expect(Math.abs(c.model - c.jacobian)).toBeLessThan(1e-8 * (1 + Math.abs(c.jacobian)));
  });

  it('lets no patch see a later one, while later ones do see it', () => {
    const c = checks.causal;
    expect(c.earlier_max_change).toBe(0);
    expect(c.later_min_change).toBeGreaterThan(1e-3);
  });
});
